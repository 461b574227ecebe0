// Small DOM helpers: elements built from data (never from HTML strings), status messages,
// the confirm dialog, dates.

// h("button", {type: "button", onclick: f}, "Save"): attributes, `on*` listeners, children.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else if (name === "value") element.value = value;
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

let uid = 0;
export const id = (prefix) => `${prefix}-${++uid}`;

// The aria-live status line: what just happened, for every user.
export function announce(message, kind = "info") {
  const status = document.getElementById("status");
  status.textContent = message;
  status.dataset.kind = kind;
}

export const announceError = (error) => announce(error.message || String(error), "error");

// A labelled control: <div class="field"><label>..</label>control<p hint/></div>.
export function labelled(label, control, { hint, required } = {}) {
  control.id ||= id("f");
  const parts = [label];
  if (required) {
    parts.push(h("span", { class: "req", "aria-hidden": "true" }, " *"));
    parts.push(h("span", { class: "visually-hidden" }, " (required)"));
  }
  const field = h("div", { class: "field" }, h("label", { for: control.id }, ...parts), control);
  if (hint) {
    const note = h("p", { class: "hint", id: id("hint") }, hint);
    control.setAttribute("aria-describedby", note.id);
    field.append(note);
  }
  return field;
}

// The <dialog> of index.html: resolves true when the editor confirms.
export function confirm(title, text, action = "Delete") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const ok = document.getElementById("confirm-ok");
  const cancel = document.getElementById("confirm-cancel");
  ok.textContent = action;
  return new Promise((resolve) => {
    const done = (answer) => {
      ok.removeEventListener("click", yes);
      cancel.removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    ok.addEventListener("click", yes);
    cancel.addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    cancel.focus();
  });
}

export function when(instant) {
  if (!instant) return "";
  const date = new Date(instant);
  return Number.isNaN(date.getTime()) ? instant : date.toLocaleString();
}

// An RFC 3339 instant as a datetime-local value (the browser's time zone), and back.
export function toLocalInput(instant) {
  const date = new Date(instant);
  if (!instant || Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

export function fromLocalInput(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { class: "visually-hidden", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied;
  }
}
