// The media library: drag-and-drop or chosen uploads with progress (presigned for large
// files), thumbnails, alt text, copy as Markdown, and insert into the entry being edited.

import { ApiError, call, get, query, root, send } from "./api.js";
import { announce, announceError, copyText, h, id, labelled } from "./dom.js";

// Larger files go through a presigned form (the API's direct limit is 4 MiB by default;
// a 413 from a smaller limit falls back too).
const DIRECT_LIMIT = 4 * 1024 * 1024;
const PAGE = 24;
const POLL_MS = 400;
const POLL_TRIES = 75;

export const markdownOf = (asset) => `![${asset.alt || ""}](media:${asset.id})`;

function thumbnail(asset) {
  const small = asset.variants
    .filter((v) => v.format === "webp")
    .sort((a, b) => a.width - b.width)[0];
  if (small) {
    return h("img", {
      src: small.url,
      alt: "",
      width: small.width,
      height: small.height,
      loading: "lazy",
    });
  }
  const text = asset.status === "failed" ? "failed" : asset.kind === "file" ? "PDF" : asset.status;
  return h("span", { class: "thumb-text" }, text);
}

async function uploadOne(file, onProgress) {
  const type = file.type || "application/octet-stream";
  if (file.size <= DIRECT_LIMIT) {
    try {
      const url = `${root}/v1/manage/media${query({ filename: file.name })}`;
      return (await send("POST", url, file, { headers: { "Content-Type": type }, onProgress })).body;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 413) throw error;
    }
  }
  const started = await call("POST", "/v1/manage/media/uploads", {
    json: { filename: file.name, content_type: type, bytes: file.size },
  });
  const form = started.body.upload;
  if (form) {
    const data = new FormData();
    for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
    data.append(form.file_field, file);
    await send(form.method, form.url, data, { auth: false, onProgress });
  }
  return started.body;
}

// The asset once its variants are made (or it failed), polling while it processes.
async function settled(asset) {
  let current = asset;
  for (let i = 0; i < POLL_TRIES && !["ready", "failed"].includes(current.status); i++) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = (await get(`/v1/manage/media/${current.id}`)).body;
  }
  return current;
}

function card(asset, onInsert) {
  const alt = h("input", { type: "text", name: "alt", value: asset.alt || "", maxlength: 1000 });
  const save = h("button", { type: "submit" }, "Save alt text");
  const altForm = h(
    "form",
    {
      class: "alt-form",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const { body } = await call("PATCH", `/v1/manage/media/${asset.id}`, {
            json: { alt: alt.value },
          });
          asset.alt = body.alt;
          announce(`Alt text of ${asset.filename} saved.`);
        } catch (error) {
          announceError(error);
        }
      },
    },
    labelled("Alt text", alt, { hint: "What the image shows, for readers who cannot see it." }),
    save,
  );
  const copy = h("button", { type: "button" }, "Copy as Markdown");
  copy.addEventListener("click", async () => {
    const text = markdownOf(asset);
    const copied = await copyText(text);
    announce(copied ? `Copied: ${text}` : `Copy this: ${text}`);
  });
  const titleId = id("media");
  return h(
    "li",
    { class: "media-card", "data-id": asset.id, "aria-labelledby": titleId },
    h("div", { class: "thumb" }, thumbnail(asset)),
    h("p", { class: "media-name", id: titleId }, asset.filename),
    h("p", { class: "muted" }, asset.status === "ready" ? "" : asset.status),
    altForm,
    h(
      "div",
      { class: "buttons" },
      copy,
      onInsert
        ? h(
            "button",
            { type: "button", class: "primary", onclick: () => onInsert(markdownOf(asset)) },
            "Insert",
          )
        : "",
    ),
  );
}

// The library in `container`; `onInsert(markdown)` adds an Insert button to each asset.
async function library(container, { onInsert, level = "h1" } = {}) {
  const grid = h("ul", { class: "media-grid" });
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const input = h("input", { type: "file", multiple: true, accept: "image/*,application/pdf" });
  let cursor = null;

  async function upload(files) {
    for (const file of files) {
      const bar = h("progress", { max: 1, value: 0 });
      const note = h("span", {}, "uploading…");
      const item = h("li", {}, h("span", { class: "media-name" }, file.name), bar, note);
      uploads.append(item);
      try {
        const asset = await uploadOne(file, (fraction) => {
          bar.value = fraction;
        });
        bar.value = 1;
        note.textContent = "processing…";
        const ready = await settled(asset);
        note.textContent = ready.status === "ready" ? "ready" : `${ready.status}: ${ready.error || ""}`;
        grid.prepend(card(ready, onInsert));
        announce(`${file.name} uploaded.`);
      } catch (error) {
        note.textContent = `failed: ${error.message}`;
        note.classList.add("error");
        announceError(error);
      }
    }
  }

  async function load() {
    try {
      const { body } = await get(`/v1/manage/media${query({ limit: PAGE, cursor })}`);
      grid.append(...body.items.map((asset) => card(asset, onInsert)));
      cursor = body.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      announceError(error);
    }
  }

  const drop = h(
    "div",
    { class: "drop" },
    h("p", {}, "Drop images or PDFs here, or "),
    labelled("choose files", input),
  );
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    upload([...event.dataTransfer.files]);
  });
  input.addEventListener("change", () => {
    upload([...input.files]);
    input.value = "";
  });
  more.addEventListener("click", load);
  container.replaceChildren(h(level, {}, "Media library"), drop, uploads, grid, more);
  await load();
}

export async function showLibrary(main) {
  await library(main);
  return {};
}

// The library in a modal dialog; inserting closes it and gives focus back to `opener`.
export function pickMedia(onInsert, opener) {
  const content = h("div", { class: "dialog-body" });
  const close = h("button", { type: "button", class: "close" }, "Close");
  const dialog = h("dialog", { class: "media-dialog", "aria-label": "Insert an image" }, close, content);
  const finish = () => {
    dialog.close();
    dialog.remove();
    opener.focus();
  };
  close.addEventListener("click", finish);
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    finish();
  });
  document.body.append(dialog);
  dialog.showModal();
  library(content, {
    level: "h2",
    onInsert: (markdown) => {
      finish();
      onInsert(markdown);
    },
  });
}
