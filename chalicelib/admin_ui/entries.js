// A collection's entries: filter by state, search by title, page with the API's cursor.

import { get, query, segment } from "./api.js";
import { announceError, h, labelled, when } from "./dom.js";

const PAGE = 25;
const FILTERS = [
  ["", "All entries"],
  ["draft", "Drafts"],
  ["scheduled", "Scheduled"],
  ["published", "Published"],
  ["expired", "Expired"],
  ["failed", "Failed render"],
];
const SEARCH_DELAY = 300;
let firstList = true;

export function stateBadge(state, renderStatus) {
  const badges = [h("span", { class: `badge state-${state}` }, state)];
  if (renderStatus === "failed") badges.push(h("span", { class: "badge failed" }, "render failed"));
  return badges;
}

function row(collection, item) {
  const href = `#/c/${collection.name}/e/${segment(item.slug)}`;
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href }, item.title || item.slug)),
    h("td", { class: "path" }, item.slug),
    h("td", {}, stateBadge(item.state, item.render_status)),
    h("td", {}, h("time", { datetime: item.updated_at || "" }, when(item.updated_at))),
  );
}

export async function showEntries(main, collection) {
  const pages = [null]; // the `after` of each page seen, for Previous
  let timer = null;
  const search = h("input", { type: "search", name: "q", maxlength: 200, autocomplete: "off" });
  const filter = h(
    "select",
    { name: "state" },
    FILTERS.map(([value, label]) => h("option", { value }, label)),
  );
  const body = h("tbody");
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const previous = h("button", { type: "button", disabled: true }, "Previous page");
  const next = h("button", { type: "button", disabled: true }, "Next page");
  const table = h(
    "table",
    { class: "entries" },
    h("caption", { class: "visually-hidden" }, `Entries of ${collection.title || collection.name}`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Title", "Path", "State", "Updated"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    body,
  );

  async function load() {
    const after = pages[pages.length - 1];
    const chosen = filter.value;
    const params = {
      limit: PAGE,
      after,
      q: search.value.trim(),
      state: chosen === "failed" ? "" : chosen,
      status: chosen === "failed" ? "failed" : "",
    };
    let page;
    try {
      page = (await get(`/v1/manage/content/${collection.name}${query(params)}`)).body;
    } catch (error) {
      announceError(error);
      return;
    }
    body.replaceChildren(...page.items.map((item) => row(collection, item)));
    const filtered = params.q || chosen;
    summary.textContent = page.items.length
      ? `Page ${pages.length}: ${page.items.length} ${page.items.length === 1 ? "entry" : "entries"}.`
      : filtered
        ? "No entries match on this page."
        : "No entries yet.";
    table.hidden = !page.items.length;
    previous.disabled = pages.length === 1;
    next.disabled = !page.next_after;
    next.dataset.after = page.next_after || "";
    if (firstList) {
      firstList = false;
      performance.mark("cms:list-rendered");
    }
  }

  const restart = () => {
    pages.splice(1);
    load();
  };
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(restart, SEARCH_DELAY);
  });
  filter.addEventListener("change", restart);
  next.addEventListener("click", () => {
    pages.push(next.dataset.after);
    load();
  });
  previous.addEventListener("click", () => {
    pages.pop();
    load();
  });

  main.replaceChildren(
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, collection.title || collection.name),
      h("a", { class: "button primary", href: `#/c/${collection.name}/new` }, "New entry"),
    ),
    h(
      "form",
      { class: "filters", role: "search", onsubmit: (e) => (e.preventDefault(), restart()) },
      labelled("Search by title", search),
      labelled("Show", filter),
    ),
    summary,
    h("div", { class: "table-wrap" }, table),
    h("nav", { class: "pager", "aria-label": "Pages" }, previous, next),
  );
  await load();
  return { leave: () => clearTimeout(timer) };
}
