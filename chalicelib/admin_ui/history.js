// An entry's revisions (every save), newest first, each restorable.

import { ApiError, call, get, segment } from "./api.js";
import { announceError, confirm, h, when } from "./dom.js";

function size(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}

// {element, reset()}: loads the list when opened, again after each save.
export function revisionsPanel({ collection, path, etag, dirty, restored }) {
  const list = h("ol", { class: "revisions" });
  const details = h(
    "details",
    { class: "panel" },
    h("summary", {}, h("h2", { class: "inline" }, "Revisions")),
    list,
  );
  const base = () => `/v1/manage/content/${collection}/${segment(path())}`;

  async function restore(revision) {
    if (dirty()) {
      const sure = await confirm(
        "Restore this revision?",
        "Your unsaved changes are lost: the draft becomes the revision you chose.",
        "Restore",
      );
      if (!sure) return;
    }
    try {
      const answer = await call(
        "POST",
        `${base()}/revisions/${encodeURIComponent(revision)}/restore`,
        { json: {}, headers: etag() ? { "If-Match": etag() } : {} },
      );
      restored(answer);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        announceError(new Error("The entry was changed elsewhere: reload it, then restore."));
      } else announceError(error);
    }
  }

  async function load() {
    list.replaceChildren(h("li", { class: "muted" }, "Loading…"));
    try {
      const { body } = await get(`${base()}/revisions`);
      list.replaceChildren(
        ...body.items.map((r) =>
          h(
            "li",
            {},
            h("time", { datetime: r.saved_at }, when(r.saved_at)),
            ` · ${r.deleted ? "deleted" : size(r.size)}`,
            r.current ? h("span", { class: "badge" }, "current") : "",
            r.current || r.deleted
              ? ""
              : h("button", { type: "button", onclick: () => restore(r.revision) }, "Restore"),
          ),
        ),
      );
    } catch (error) {
      list.replaceChildren(h("li", { class: "error" }, error.message));
    }
  }

  details.addEventListener("toggle", () => {
    if (details.open) load();
  });
  return {
    element: details,
    reset: () => {
      if (details.open) load();
    },
  };
}
