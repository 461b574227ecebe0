// The editor: the key, the collections, and which view the address (#/...) shows.

import { ApiError, get, key } from "./api.js";
import { announce, announceError, confirm, h, labelled } from "./dom.js";
import { showEditor } from "./editor.js";
import { showEntries } from "./entries.js";
import { showLibrary } from "./media.js";

const main = document.getElementById("main");
const sidebar = document.getElementById("sidebar");
const forget = document.getElementById("forget");
const state = { collections: null, view: null, hash: location.hash };

function focusMain() {
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function keyForm(problem) {
  const input = h("input", {
    type: "password",
    name: "key",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const form = h(
    "form",
    { class: "key-form", onsubmit: (event) => useKey(event, input.value.trim()) },
    h("h1", {}, "Open the editor"),
    h(
      "p",
      {},
      "Paste an API key (the server's admin key, or one made with content and media scopes). " +
        "It stays in this tab only and is forgotten when the tab closes.",
    ),
    labelled("API key", input),
    problem ? h("p", { class: "error", role: "alert" }, problem) : null,
    h("button", { type: "submit", class: "primary" }, "Use this key"),
  );
  sidebar.hidden = true;
  forget.hidden = true;
  main.replaceChildren(form);
  input.focus();
}

async function useKey(event, value) {
  event.preventDefault();
  if (!value) return;
  key.set(value);
  state.collections = null;
  await route();
}

async function collections() {
  if (state.collections === null) {
    state.collections = (await get("/v1/manage/collections")).body.items;
  }
  return state.collections;
}

function drawSidebar(items, current) {
  const link = (href, text, active) =>
    h("li", {}, h("a", { href, "aria-current": active ? "page" : null }, text));
  sidebar.replaceChildren(
    h("h2", { class: "sidebar-title" }, "Collections"),
    h(
      "ul",
      {},
      items.map((c) => link(`#/c/${c.name}`, c.title || c.name, current === c.name)),
    ),
    h("ul", { class: "sidebar-more" }, link("#/media", "Media library", current === "#media")),
  );
  sidebar.hidden = false;
  forget.hidden = false;
}

function home(items) {
  main.replaceChildren(
    h("h1", {}, "Collections"),
    items.length
      ? h(
          "ul",
          { class: "cards" },
          items.map((c) =>
            h(
              "li",
              {},
              h("a", { href: `#/c/${c.name}` }, c.title || c.name),
              c.description ? h("p", {}, c.description) : null,
            ),
          ),
        )
      : h("p", {}, "There are no collections yet: an admin creates them through the API."),
  );
}

// #/  #/c/{collection}  #/c/{collection}/new  #/c/{collection}/e/{path with ~}  #/media
function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "media") return { view: "media" };
  if (parts[0] === "c" && parts[1]) {
    if (parts[2] === "new") return { view: "editor", collection: parts[1], slug: null };
    if (parts[2] === "e" && parts[3]) {
      return { view: "editor", collection: parts[1], slug: parts[3].replaceAll("~", "/") };
    }
    return { view: "entries", collection: parts[1] };
  }
  return { view: "home" };
}

async function route() {
  if (!key.get()) return keyForm();
  const where = parse(location.hash);
  state.view?.leave?.();
  state.view = null;
  let items;
  try {
    items = await collections();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      key.forget();
      return keyForm(`That key was not accepted: ${error.message}`);
    }
    announceError(error);
    return;
  }
  drawSidebar(items, where.view === "media" ? "#media" : where.collection);
  const collection = items.find((c) => c.name === where.collection);
  if (where.collection && !collection) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, "There is no such collection."));
    return;
  }
  if (where.view === "entries") state.view = await showEntries(main, collection);
  else if (where.view === "editor") {
    state.view = await showEditor(main, collection, where.slug);
  } else if (where.view === "media") state.view = await showLibrary(main);
  else home(items);
}

document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  focusMain();
});

forget.addEventListener("click", () => {
  key.forget();
  state.collections = null;
  announce("The key is forgotten.");
  location.hash = "#/";
  keyForm();
});

// Ctrl/Cmd+S saves, Ctrl/Cmd+Enter refreshes the preview (where the view has them).
document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
  const view = state.view;
  if (event.key.toLowerCase() === "s" && view?.save) {
    event.preventDefault();
    view.save();
  } else if (event.key === "Enter" && view?.preview) {
    event.preventDefault();
    view.preview();
  }
});

window.addEventListener("beforeunload", (event) => {
  if (state.view?.dirty?.()) event.preventDefault();
});

window.addEventListener("hashchange", async () => {
  if (state.view?.dirty?.()) {
    const leave = await confirm(
      "Leave this entry?",
      "Your changes are not saved; they are lost if you leave.",
      "Leave without saving",
    );
    if (!leave) {
      history.replaceState(null, "", state.hash || "#/");
      return;
    }
  }
  state.hash = location.hash;
  await route();
  focusMain();
});
route();
