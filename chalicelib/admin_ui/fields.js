// The front matter form: an input per field of the collection's schema (and the built-in
// fields every collection has), typed as the field is; the rest of the front matter as JSON.

import { get, query } from "./api.js";
import { fromLocalInput, h, id, labelled, toLocalInput } from "./dom.js";

const BUILT_IN = {
  title: { type: "string", max_length: 300 },
  summary: { type: "text", max_length: 20000 },
  tags: { type: "list", description: "Separate tags with commas." },
  author: { type: "string", max_length: 500 },
};
const OTHER = "__other";

function control(name, spec, value) {
  const common = { name, required: Boolean(spec.required) };
  switch (spec.type) {
    case "text":
      return h("textarea", { ...common, rows: 3, maxlength: spec.max_length, value: value ?? "" });
    case "number":
      return h("input", { ...common, type: "number", step: "any", value: value ?? "" });
    case "boolean":
      return h("input", { name, type: "checkbox", checked: value === true });
    case "datetime":
      return h("input", { ...common, type: "datetime-local", value: toLocalInput(value) });
    case "list":
      return h("input", {
        ...common,
        type: "text",
        value: Array.isArray(value) ? value.join(", ") : (value ?? ""),
      });
    case "enum":
      return h(
        "select",
        common,
        h("option", { value: "" }, "(none)"),
        spec.values.map((v) => h("option", { value: v, selected: v === value }, v)),
      );
    case "reference": {
      const list = h("datalist", { id: id("refs") });
      get(`/v1/manage/content/${spec.collection}${query({ limit: 100 })}`)
        .then(({ body }) => list.append(...body.items.map((i) => h("option", { value: i.slug }))))
        .catch(() => {});
      const input = h("input", { ...common, type: "text", list: list.id, value: value ?? "" });
      return [input, list];
    }
    default:
      return h("input", { ...common, type: "text", maxlength: spec.max_length, value: value ?? "" });
  }
}

function read(input, spec) {
  const raw = spec.type === "boolean" ? input.checked : input.value;
  switch (spec.type) {
    case "boolean":
      return raw;
    case "number":
      return raw === "" ? undefined : Number(raw);
    case "datetime":
      return raw === "" ? undefined : (fromLocalInput(raw) ?? raw);
    case "list": {
      const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
      return items.length ? items : undefined;
    }
    default:
      return raw.trim() === "" ? undefined : raw;
  }
}

// {element, values(), showErrors(errors) -> the errors no field took, clearErrors()}
export function frontMatterForm(collection, frontMatter) {
  const specs = { ...BUILT_IN, ...(collection.fields || {}) };
  const inputs = new Map();
  const fields = [];
  for (const [name, spec] of Object.entries(specs)) {
    const made = control(name, spec, frontMatter[name]);
    const [input, ...extra] = Array.isArray(made) ? made : [made];
    inputs.set(name, input);
    const label = name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
    const field = labelled(label, input, { hint: spec.description, required: spec.required });
    field.classList.add(`type-${spec.type}`);
    field.append(...extra);
    fields.push(field);
  }
  const others = Object.fromEntries(Object.entries(frontMatter).filter(([k]) => !specs[k]));
  const other = h("textarea", { name: OTHER, rows: 3, class: "code", spellcheck: "false" });
  other.value = Object.keys(others).length ? JSON.stringify(others, null, 2) : "";
  inputs.set(OTHER, other);
  const hasBoolean = new Set(Object.keys(frontMatter));

  const element = h(
    "fieldset",
    { class: "front-matter" },
    h("legend", {}, "Front matter"),
    h("div", { class: "field-grid" }, fields),
    h(
      "details",
      { open: Object.keys(others).length > 0 },
      h("summary", {}, "Other front matter fields (JSON)"),
      labelled("Other fields, as a JSON object", other, {
        hint: collection.fields
          ? "This collection has a schema: fields it does not name are refused."
          : 'Any keys, e.g. {"weight": 3, "draft": false}.',
      }),
    ),
  );

  function values({ strict = true } = {}) {
    const result = {};
    let extra = {};
    try {
      extra = other.value.trim() ? JSON.parse(other.value) : {};
      if (extra === null || typeof extra !== "object" || Array.isArray(extra)) {
        throw new SyntaxError("not a JSON object");
      }
    } catch (error) {
      if (strict) throw new SyntaxError(`Other fields: ${error.message}`);
      extra = {};
    }
    Object.assign(result, extra);
    for (const [name, spec] of Object.entries(specs)) {
      const value = read(inputs.get(name), spec);
      const keepFalse = spec.type === "boolean" && (spec.required || hasBoolean.has(name));
      if (value === false && !keepFalse) continue;
      if (value !== undefined) result[name] = value;
    }
    return result;
  }

  function clearErrors() {
    for (const note of element.querySelectorAll(".field-error")) note.remove();
    for (const input of inputs.values()) {
      input.removeAttribute("aria-invalid");
      const described = (input.getAttribute("aria-describedby") || "").split(" ");
      const kept = described.filter((d) => d && !d.startsWith("err-")).join(" ");
      if (kept) input.setAttribute("aria-describedby", kept);
      else input.removeAttribute("aria-describedby");
    }
  }

  // Each error of the API's problem next to its field; returns those of no field here.
  function showErrors(errors) {
    const rest = [];
    for (const error of errors) {
      const name = (error.field || "").replace(/^front_matter\.?/, "").split(".")[0];
      const input = inputs.get(name) || (name && !specs[name] ? other : null);
      if (!input) {
        rest.push(error);
        continue;
      }
      const note = h("p", { class: "field-error", id: `err-${id("e")}` }, error.message);
      if (input === other) note.prepend(`${name}: `);
      input.closest(".field").append(note);
      input.setAttribute("aria-invalid", "true");
      const described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
    }
    const first = element.querySelector("[aria-invalid=true]");
    if (first) first.focus();
    return rest;
  }

  return { element, values, clearErrors, showErrors };
}
