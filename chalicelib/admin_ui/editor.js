// One entry: front matter and Markdown, a live preview rendered by the server, save with
// If-Match (a conflict says so), publishing, revisions, delete.

import { ApiError, call, get, root, segment } from "./api.js";
import { announce, announceError, confirm, fromLocalInput, h, labelled, when } from "./dom.js";
import { stateBadge } from "./entries.js";
import { frontMatterForm } from "./fields.js";
import { revisionsPanel } from "./history.js";
import { pickMedia } from "./media.js";

// The preview follows typing: a render this long after the last keystroke.
const PREVIEW_DELAY = 150;
const STARTER = "# A new entry\n\nWrite in **Markdown**.\n";

function previewDocument(html) {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<link rel="stylesheet" href="admin/preview.css"></head>' +
    `<body><article>${html}</article></body></html>`
  );
}

function insertAtCursor(textarea, text) {
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  const before = start > 0 && value[start - 1] !== "\n" ? "\n\n" : "";
  textarea.setRangeText(`${before}${text}\n`, start, end, "end");
  textarea.focus();
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

export async function showEditor(main, collection, slug) {
  const base = `/v1/manage/content/${collection.name}`;
  let entry = null;
  let etag = null;
  if (slug !== null) {
    try {
      const loaded = await get(`${base}/${segment(slug)}`);
      entry = loaded.body;
      etag = loaded.etag;
    } catch (error) {
      main.replaceChildren(h("h1", {}, "Entry not found"), h("p", {}, error.message));
      return null;
    }
  }
  let dirty = false;
  let saving = false;
  let previewTimer = null;
  let previewRequest = null;
  let lastInput = 0;
  const path = () => entry.slug;

  const form = frontMatterForm(collection, entry ? entry.front_matter : {});
  const body = h("textarea", {
    name: "body",
    class: "markdown code",
    rows: 20,
    spellcheck: "true",
    value: entry ? entry.body : STARTER,
  });
  const slugInput = h("input", { type: "text", name: "slug", autocomplete: "off" });
  const frame = h("iframe", {
    class: "preview",
    title: "Preview",
    sandbox: "",
    referrerpolicy: "no-referrer",
  });
  const previewNote = h("p", { class: "muted preview-note", "aria-live": "polite" });
  const summary = h("div", { class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
  const conflict = h("div", { class: "conflict", role: "alert", hidden: true });
  const heading = h("h1", {});
  const badges = h("p", { class: "badges" });
  const publishing = h("section", { class: "panel", "aria-labelledby": "publishing-title" });

  function drawHead() {
    heading.textContent = entry ? entry.title || entry.slug : "New entry";
    badges.replaceChildren(
      ...(entry ? stateBadge(entry.publication.state, entry.render.status) : []),
      dirty ? h("span", { class: "badge unsaved" }, "unsaved changes") : "",
    );
  }

  function changed() {
    if (!dirty) {
      dirty = true;
      drawHead();
    }
    lastInput = performance.now();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, PREVIEW_DELAY);
  }

  async function refreshPreview() {
    clearTimeout(previewTimer);
    previewRequest?.abort();
    const request = new AbortController();
    previewRequest = request;
    const typedAt = lastInput;
    let frontMatter = {};
    try {
      frontMatter = form.values({ strict: false });
    } catch {
      frontMatter = {};
    }
    const json = { body: body.value, front_matter: frontMatter };
    if (entry) Object.assign(json, { collection: collection.name, slug: path() });
    try {
      const { body: rendered } = await call("POST", "/v1/manage/render", {
        json,
        signal: request.signal,
      });
      if (request !== previewRequest) return;
      frame.addEventListener(
        "load",
        () => {
          if (typedAt) performance.measure("cms:preview", { start: typedAt, end: performance.now() });
        },
        { once: true },
      );
      frame.srcdoc = previewDocument(rendered.html);
      const warnings = rendered.media_warnings.map((w) => `${w.media_id}: ${w.problem}`);
      previewNote.textContent = warnings.length ? `Images: ${warnings.join(" ")}` : "";
    } catch (error) {
      if (error.name === "AbortError") return;
      previewNote.textContent = `The preview could not be rendered: ${error.message}`;
    }
  }

  function showSummary(message, errors = []) {
    summary.replaceChildren(
      h("p", {}, message),
      errors.length ? h("ul", {}, errors.map((e) => h("li", {}, `${e.field}: ${e.message}`))) : "",
    );
    summary.hidden = false;
    if (!main.querySelector("[aria-invalid=true]")) summary.focus();
  }

  function showConflict(currentEtag) {
    const reload = h("button", { type: "button" }, "Load the saved version (discard mine)");
    const overwrite = h("button", { type: "button", class: "danger" }, "Save mine over it");
    reload.addEventListener("click", async () => {
      dirty = false;
      await reopen();
    });
    overwrite.addEventListener("click", () => {
      etag = currentEtag ? `"${currentEtag}"` : etag;
      conflict.hidden = true;
      save();
    });
    conflict.replaceChildren(
      h("h2", {}, "This entry was changed elsewhere"),
      h(
        "p",
        {},
        "It was saved (in another tab, or by someone else) after you opened it, so your " +
          "changes are not saved. Load that version, or save yours over it.",
      ),
      h("div", { class: "buttons" }, reload, overwrite),
    );
    conflict.hidden = false;
    reload.focus();
  }

  function fieldErrors(errors) {
    const rest = [];
    for (const error of form.showErrors(errors)) {
      const target = error.field === "body" ? body : error.field === "slug" ? slugInput : null;
      if (!target || !target.closest(".field")) {
        rest.push(error);
        continue;
      }
      target.closest(".field").append(h("p", { class: "field-error" }, error.message));
      target.setAttribute("aria-invalid", "true");
    }
    return rest;
  }

  function clearErrors() {
    form.clearErrors();
    for (const note of main.querySelectorAll(".field-error")) note.remove();
    for (const input of main.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    summary.hidden = true;
  }

  async function save() {
    if (saving) return false;
    saving = true;
    clearErrors();
    try {
      const json = { front_matter: form.values(), body: body.value };
      let answer;
      if (entry) {
        answer = await call("PUT", `${base}/${segment(path())}`, {
          json,
          headers: etag ? { "If-Match": etag } : {},
        });
      } else {
        const wanted = slugInput.value.trim();
        answer = await call("POST", base, { json: wanted ? { ...json, slug: wanted } : json });
      }
      const created = !entry;
      entry = answer.body;
      etag = answer.etag;
      dirty = false;
      conflict.hidden = true;
      announce(created ? "Created and saved." : "Saved.");
      if (created) location.hash = `#/c/${collection.name}/e/${segment(entry.slug)}`;
      else redraw();
      return true;
    } catch (error) {
      if (error instanceof SyntaxError) showSummary(error.message);
      else if (error instanceof ApiError && error.status === 412) {
        showConflict(error.problem.current_etag);
      } else if (error instanceof ApiError && error.errors.length) {
        showSummary(error.message, fieldErrors(error.errors));
      } else if (error instanceof ApiError && error.status !== 0) showSummary(error.message);
      else announceError(error);
      announce("Not saved.", "error");
      return false;
    } finally {
      saving = false;
    }
  }

  async function reopen(message = "Loaded the saved version.") {
    api.leave();
    const view = await showEditor(main, collection, path());
    if (view) Object.assign(api, view);
    announce(message);
  }

  async function publishAction(label, method, json) {
    if (dirty && !(await save())) return;
    try {
      await call("POST", `${base}/${segment(path())}/${method}`, {
        json,
        headers: etag ? { "If-Match": etag } : {},
      });
      const fresh = await get(`${base}/${segment(path())}`);
      entry = fresh.body;
      etag = fresh.etag;
      redraw();
      announce(label);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        showConflict(error.problem.current_etag);
      } else announceError(error);
    }
  }

  function drawPublishing() {
    if (!entry) {
      publishing.replaceChildren(
        h("h2", { id: "publishing-title" }, "Publishing"),
        h("p", { class: "muted" }, "Save the entry first."),
      );
      return;
    }
    const { state, published_at: at, expires_at: end } = entry.publication;
    const delivery = `${root}/v1/content/${collection.name}/${segment(entry.slug)}`;
    const description = {
      draft: "Not published: only editors see it.",
      scheduled: `Scheduled: published on ${when(at)}${end ? `, until ${when(end)}` : ""}.`,
      published: `Published on ${when(at)}${end ? `, until ${when(end)}` : ""}.`,
      expired:
        `Expired on ${when(end)}: readers no longer see it. To bring it back, move or remove ` +
        "its end (expires_at or expiryDate) in the front matter, then publish.",
    }[state];
    const publishAt = h("input", { type: "datetime-local", name: "publish_at" });
    const schedule = h("button", { type: "button" }, "Schedule");
    schedule.addEventListener("click", () => {
      const instant = fromLocalInput(publishAt.value);
      if (!instant) {
        announce("Choose a date and time to publish at.", "error");
        publishAt.focus();
        return;
      }
      publishAction(`Scheduled for ${when(instant)}.`, "publish", { publish_at: instant });
    });
    publishing.replaceChildren(
      h("h2", { id: "publishing-title" }, "Publishing"),
      h(
        "p",
        { class: "publication" },
        description,
        state === "published"
          ? [" ", h("a", { href: delivery, target: "_blank", rel: "noopener" }, "Open on the delivery API")]
          : "",
      ),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          { type: "button", class: "primary", onclick: () => publishAction("Published.", "publish", {}) },
          state === "draft" ? "Publish now" : "Publish the current draft now",
        ),
        state !== "draft"
          ? h(
              "button",
              { type: "button", onclick: () => publishAction("Unpublished.", "unpublish", {}) },
              "Unpublish",
            )
          : "",
      ),
      h("div", { class: "schedule" }, labelled("Publish at (your time zone)", publishAt), schedule),
    );
  }

  async function remove() {
    const name = entry.title || entry.slug;
    const sure = await confirm(
      `Delete “${name}”?`,
      "The draft and its published version are removed from the site; its revisions stay " +
        "restorable through the API.",
    );
    if (!sure) return;
    try {
      await call("DELETE", `${base}/${segment(path())}`, { headers: etag ? { "If-Match": etag } : {} });
      dirty = false;
      announce(`Deleted “${name}”.`);
      location.hash = `#/c/${collection.name}`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) showConflict(error.problem.current_etag);
      else announceError(error);
    }
  }

  const history = revisionsPanel({
    collection: collection.name,
    path: () => entry && entry.slug,
    etag: () => etag,
    dirty: () => dirty,
    restored: () => {
      dirty = false;
      reopen("Restored: the draft is that revision again (saved as a new one).");
    },
  });

  function redraw() {
    drawHead();
    drawPublishing();
    history.reset();
  }

  const insert = h("button", { type: "button" }, "Insert image…");
  insert.addEventListener("click", () =>
    pickMedia((markdown) => insertAtCursor(body, markdown), insert),
  );
  const saveButton = h("button", { type: "submit", class: "primary" }, "Save");
  const previewButton = h("button", { type: "button", onclick: () => refreshPreview() }, "Refresh preview");
  const editor = h(
    "form",
    {
      class: "entry-form",
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        save();
      },
      oninput: changed,
    },
    summary,
    entry
      ? ""
      : labelled("Path", slugInput, {
          hint: "Optional: lower-case words joined by '-', sections by '/'. Empty: made from the title.",
        }),
    form.element,
    h(
      "div",
      { class: "panes" },
      h(
        "div",
        { class: "pane" },
        labelled("Markdown", body),
        h("div", { class: "buttons" }, insert),
      ),
      h(
        "div",
        { class: "pane" },
        h("p", { class: "pane-title", id: "preview-title" }, "Preview"),
        frame,
        previewNote,
      ),
    ),
    h(
      "div",
      { class: "buttons actions" },
      saveButton,
      previewButton,
      h("span", { class: "muted keys" }, "Ctrl+S saves, Ctrl+Enter refreshes the preview."),
    ),
  );
  const sections = [publishing];
  if (entry) {
    sections.push(history.element);
    sections.push(
      h(
        "section",
        { class: "panel danger-zone", "aria-labelledby": "delete-title" },
        h("h2", { id: "delete-title" }, "Delete"),
        h("button", { type: "button", class: "danger", onclick: remove }, "Delete this entry…"),
      ),
    );
  }
  main.replaceChildren(
    h(
      "div",
      { class: "view-head" },
      h("div", {}, heading, badges),
      h("a", { href: `#/c/${collection.name}` }, `All ${collection.title || collection.name}`),
    ),
    conflict,
    editor,
    ...sections,
  );
  drawHead();
  drawPublishing();
  refreshPreview();

  const api = {
    save,
    preview: refreshPreview,
    dirty: () => dirty,
    leave: () => {
      clearTimeout(previewTimer);
      previewRequest?.abort();
    },
  };
  return api;
}
