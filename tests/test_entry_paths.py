"""Entries keep the path they came from: nested sections, section and bundle pages, files of
any name, documents stored byte for byte, and URLs no path can collide with. Runs on both
backends."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib import wiring
from chalicelib.domain.paths import to_url
from tests.conftest import Api, problem

MANAGE = "/v1/manage/content"
DELIVER = "/v1/content"
MD = {"Content-Type": "text/markdown; charset=utf-8"}


def url(path: str, collection: str = "docs") -> str:
    return f"{MANAGE}/{collection}/{to_url(path)}"


def create_file(api: Api, file: str, text: str, collection: str = "docs") -> Any:
    return api.json(
        "POST", f"{MANAGE}/{collection}?file={quote(file)}", text, headers=MD, expect=201
    )


def source(api: Api, path: str, stage: str = "draft") -> bytes:
    response = api.call("GET", f"{url(path)}/source?stage={stage}")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/markdown")
    return bytes(response.body)


def put_object(container: wiring.Container, key: str, text: str) -> None:
    container.backend.objects.put(key, text.encode("utf-8"), content_type="text/markdown")
    container.process_events()


def remove_object(container: wiring.Container, key: str) -> None:
    """Delete an object and handle its removal event (moto sends none for deletions)."""
    from chalicelib.domain.s3_events import ObjectEvent
    from chalicelib.events import handle_object_event

    container.backend.objects.delete(key)
    if container.backend_name == "aws":
        removal = ObjectEvent("", key, "ObjectRemoved:DeleteMarkerCreated", "F" * 20)
        handle_object_event(container.backend, container.limits, removal)
    container.process_events()


@pytest.fixture
def docs(api: Api, clock: Any) -> Api:
    api.collection("docs")
    return api


def test_files_of_the_same_name_in_different_folders_are_two_entries(docs: Api) -> None:
    one = create_file(docs, "methods/page/Params.md", "---\ntitle: Page params\n---\nPage.\n")
    two = create_file(docs, "methods/site/Params.md", "---\ntitle: Site params\n---\nSite.\n")
    assert (one["slug"], one["file"], one["kind"], one["section"]) == (
        "methods/page/params",
        "methods/page/Params.md",
        "page",
        "methods/page",
    )
    assert two["slug"] == "methods/site/params"
    assert docs.json("GET", url("methods/page/params"))["body"] == "Page.\n"
    assert docs.json("GET", url("methods/site/params"))["front_matter"]["title"] == "Site params"
    listed = docs.json("GET", f"{MANAGE}/docs")["items"]
    assert [(i["slug"], i["file"]) for i in listed] == [
        ("methods/page/params", "methods/page/Params.md"),
        ("methods/site/params", "methods/site/Params.md"),
    ]


def test_section_and_bundle_pages_are_entries_with_their_kind(docs: Api) -> None:
    create_file(docs, "_index.md", "---\ntitle: Home\n---\n")
    create_file(docs, "guides/_index.md", "---\ntitle: Guides\n---\nAll guides.\n")
    create_file(docs, "guides/setup/index.md", "---\ntitle: Setup\n---\n![x](shot.png)\n")
    kinds = {i["slug"]: i["kind"] for i in docs.json("GET", f"{MANAGE}/docs")["items"]}
    assert kinds == {
        "_index": "section",
        "guides/_index": "section",
        "guides/setup/index": "bundle",
    }
    for path in kinds:
        docs.json("POST", f"{url(path)}/publish")
    entry = docs.json("GET", f"{DELIVER}/docs/guides~_index", auth=False)
    assert (entry["kind"], entry["section"], entry["title"]) == ("section", "guides", "Guides")
    assert entry["href"] == "/v1/content/docs/guides~_index"


def test_documents_are_stored_and_published_byte_for_byte(docs: Api) -> None:
    yaml_doc = (
        "---\n# a comment the CMS must keep\ntitle:   'Quoted'\ndate: 2023-01-05 10:30:00 +0100\n"
        "tags: [Go, Hugo]\nslug: Custom-Slug\nurl: /somewhere/else/\nlayout: wide\n"
        "description: >\n  Folded\n  text\n---\r\nBody with CRLF\r\n\r\nand no final newline"
    )
    toml_doc = '+++\ntitle = "TOML page"\ndraft = false\n[params]\n  x = 1\n+++\n\n## Hi\n'
    json_doc = '{\n  "title": "JSON page",\n  "weight": 3\n}\n\nText.\n'
    for file, text in (("a.md", yaml_doc), ("b/c.md", toml_doc), ("d.markdown", json_doc)):
        view = create_file(docs, file, text)
        assert source(docs, view["slug"]) == text.encode()
        docs.json("POST", f"{url(view['slug'])}/publish")
        assert source(docs, view["slug"], "published") == text.encode()
    entry = docs.json("GET", f"{DELIVER}/docs/a", auth=False)
    assert entry["front_matter"]["slug"] == "Custom-Slug"
    assert entry["front_matter"]["date"] == "2023-01-05 10:30:00 +0100"
    assert entry["tags"] == ["go", "hugo"]
    assert entry["published_at"] == "2023-01-05T09:30:00Z"  # Hugo's date, as a date
    assert entry["summary"] == "Folded text\n".strip()  # description stands in for a summary
    toml = docs.json("GET", f"{DELIVER}/docs/b~c", auth=False)
    assert toml["front_matter"] == {"title": "TOML page", "draft": False, "params": {"x": 1}}
    assert "<h2" in toml["html"]
    assert docs.json("GET", f"{DELIVER}/docs/d", auth=False)["front_matter"]["weight"] == 3


def test_a_body_only_patch_keeps_the_front_matter_as_written(docs: Api) -> None:
    text = '+++\ntitle = "Keep me"  # a TOML comment\n+++\nOld body.\n'
    view = create_file(docs, "keep.md", text)
    docs.json("PATCH", url(view["slug"]), {"body": "New body.\n"})
    assert source(docs, "keep") == b'+++\ntitle = "Keep me"  # a TOML comment\n+++\nNew body.\n'


def test_a_title_comes_from_the_file_name_when_absent(docs: Api) -> None:
    view = create_file(docs, "functions/math/Asin.md", "Arcsine.\n")
    assert view["slug"] == "functions/math/asin"
    assert docs.json("GET", url("functions/math/asin"))["title"] == "Asin"
    view = create_file(docs, "getting-started/quick_start.md", "---\ndraft: true\n---\nGo.\n")
    assert docs.json("GET", url(view["slug"]))["title"] == "Quick start"
    view = create_file(docs, "tools/_index.md", "")
    assert docs.json("GET", url(view["slug"]))["title"] == "Tools"


@pytest.mark.parametrize(
    "file",
    ["../x.md", "/abs.md", "a//b.md", "a/./b.md", ".hidden.md", "a/.git/x.md", "x.txt", "a\\b.md"],
)
def test_bad_files_are_refused(docs: Api, file: str) -> None:
    response = docs.call("POST", f"{MANAGE}/docs?file={quote(file)}", "Body", headers=MD)
    assert response.status_code == 422, response.body
    problem(response)


def test_a_path_segment_is_never_taken_for_a_route(docs: Api) -> None:
    """Every fixed segment of every route, as a top-level path and nested, works on every
    entry route: no path can shadow a route (the batch route lives elsewhere)."""
    from app import app

    fixed = sorted(
        {p for route in app.routes for p in route.strip("/").split("/") if not p.startswith("{")}
    )
    names = [n for n in fixed if n.replace("-", "").isalnum() and n.islower()]
    assert {"batch", "publish", "revisions", "source", "content", "manage"} <= set(names)
    for name in names:
        for path in (f"x/{name}", f"{name}/{name}"):  # one URL segment: nothing to collide
            docs.json(
                "POST",
                f"{MANAGE}/docs",
                {"slug": path, "front_matter": {"title": name}},
                expect=201,
            )
            assert docs.json("GET", url(path))["slug"] == path
        path = name
        created = docs.json(
            "POST", f"{MANAGE}/docs", {"slug": path, "front_matter": {"title": name}}, expect=201
        )
        assert created["slug"] == path
        docs.json("PUT", url(path), {"front_matter": {"title": name}, "body": "2"})
        docs.json("PATCH", url(path), {"body": "3"})
        assert len(docs.json("GET", f"{url(path)}/revisions")["items"]) == 3
        docs.json("POST", f"{url(path)}/revisions/{_first_revision(docs, path)}/restore")
        assert source(docs, path) == b"---\ntitle: " + name.encode() + b"\n---\n"
        assert docs.json("POST", f"{url(path)}/publish")["state"] == "published"
        assert docs.json("GET", f"{DELIVER}/docs/{path}", auth=False)["slug"] == path
        docs.json("POST", f"{url(path)}/unpublish")
        assert docs.call("DELETE", url(path)).status_code == 204
        assert docs.call("GET", url(path)).status_code == 404


def _first_revision(api: Api, path: str) -> str:
    return str(api.json("GET", f"{url(path)}/revisions")["items"][-1]["revision"])


def test_the_batch_route_takes_files_and_documents(docs: Api) -> None:
    items = [
        {"file": "batch.md", "document": "---\ntitle: Named batch\n---\nA.\n", "publish": True},
        {"file": "x/Batch.md", "document": "B.\n", "publish": False},
        {"slug": "publish", "front_matter": {"title": "P"}, "body": "C"},
    ]
    result = docs.json("POST", "/v1/manage/batch/docs", {"items": items})
    assert [(r["slug"], r["status"], r["file"]) for r in result["items"]] == [
        ("batch", "created", "batch.md"),
        ("x/batch", "created", "x/Batch.md"),
        ("publish", "created", "publish.md"),
    ]
    again = docs.json("POST", "/v1/manage/batch/docs", {"items": items})
    assert [r["status"] for r in again["items"]] == ["unchanged"] * 3
    assert source(docs, "x/batch") == b"B.\n"
    assert docs.call("POST", f"{MANAGE}/docs/batch", {"items": items}).status_code != 200


def test_files_that_make_the_same_path_keep_the_first_by_name(
    docs: Api, container: wiring.Container
) -> None:
    put_object(container, "content/docs/ref/params.md", "---\ntitle: lower\n---\n")
    put_object(container, "content/docs/ref/Params.md", "---\ntitle: Upper\n---\n")
    put_object(container, "content/docs/other/Params.md", "---\ntitle: Other\n---\n")
    put_object(container, "content/docs/other/params.md", "---\ntitle: other\n---\n")
    for path in ("ref/params", "other/params"):  # 'P' sorts before 'p', whatever came first
        view = docs.json("GET", url(path))
        assert view["file"].endswith("/Params.md"), view
    errors = {e["key"]: e["error"] for e in docs.json("GET", "/v1/manage/errors")["items"]}
    assert set(errors) == {"content/docs/ref/params.md", "content/docs/other/params.md"}
    assert "Params.md" in errors["content/docs/ref/params.md"]
    # the kept file removed, the other takes its place (as a rebuild of the index would)
    remove_object(container, "content/docs/ref/Params.md")
    view = docs.json("GET", url("ref/params"))
    assert (view["file"], view["title"]) == ("ref/params.md", "lower")
    assert view["render"]["status"] == "rendered"
    errors = [e["key"] for e in docs.json("GET", "/v1/manage/errors")["items"]]
    assert errors == ["content/docs/other/params.md"]
    remove_object(container, "content/docs/ref/params.md")
    assert docs.call("GET", url("ref/params")).status_code == 404


def test_dropped_files_follow_the_import_rules(docs: Api, container: wiring.Container) -> None:
    put_object(container, "content/docs/functions/math/Asin.md", "Arcsine of x.\n")
    put_object(container, "content/docs/functions/_index.md", "---\ntitle: Functions\n---\n")
    put_object(container, "content/docs/2024-01-05-Hello World.markdown", "Hi.\n")
    listed = {i["slug"]: i for i in docs.json("GET", f"{MANAGE}/docs")["items"]}
    assert set(listed) == {"functions/math/asin", "functions/_index", "2024-01-05-hello-world"}
    assert listed["functions/math/asin"]["title"] == "Asin"
    assert listed["functions/math/asin"]["render_status"] == "rendered"
    assert listed["2024-01-05-hello-world"]["title"] == "Hello World"
    assert docs.json("GET", "/v1/manage/errors")["items"] == []


def test_delivery_lists_narrow_to_a_section_and_its_subsections(docs: Api) -> None:
    for path, tags in [
        ("functions/_index", []),
        ("functions/strings/lower", ["text"]),
        ("functions/strings/upper", []),
        ("functions/math/abs", ["text"]),
        ("functionsx/other", ["text"]),
        ("methods/page/params", ["text"]),
        ("top", []),
    ]:
        entry = {"slug": path, "front_matter": {"title": path, "tags": tags}}
        docs.json("POST", f"{MANAGE}/docs", entry, expect=201)
        docs.json("POST", f"{url(path)}/publish", {"publish_at": "2025-05-01T00:00:00Z"})

    def listed(query: str) -> list[str]:
        slugs, cursor = [], None
        while True:
            page = docs.json(
                "GET",
                f"{DELIVER}/docs?limit=2&sort=title&{query}"
                + (f"&cursor={cursor}" if cursor else ""),
                auth=False,
            )
            slugs += [i["slug"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return slugs

    assert listed("section=functions") == [
        "functions/_index",
        "functions/math/abs",
        "functions/strings/lower",
        "functions/strings/upper",
    ]
    assert listed("section=functions~strings") == listed("section=functions/strings")
    assert listed("section=functions/strings") == [
        "functions/strings/lower",
        "functions/strings/upper",
    ]
    assert listed("section=functions&tag=text") == ["functions/math/abs", "functions/strings/lower"]
    assert listed("section=nothing") == []
    drafts = docs.json("GET", f"{MANAGE}/docs?section=functions/strings")["items"]
    assert [d["slug"] for d in drafts] == ["functions/strings/lower", "functions/strings/upper"]
    for bad in ("Functions", "a//b", "../x", "functions/_index"):
        response = docs.call("GET", f"{DELIVER}/docs?section={quote(bad)}", auth=False)
        assert response.status_code in (400, 422), (bad, response.body)
        problem(response)


@pytest.mark.parametrize(
    "segment", ["a%2Fb", "Bad", "a~~b", "~a", "a~", "a~..~b", "x" * 121, "a~_index~b"]
)
def test_malformed_paths_in_urls_are_client_errors(docs: Api, segment: str) -> None:
    for path in (f"{MANAGE}/docs/{segment}", f"{DELIVER}/docs/{segment}"):
        response = docs.call("GET", path, auth=path.startswith(MANAGE))
        assert response.status_code in (400, 404, 422), (path, response.status_code)
        problem(response)


def test_sync_links_use_the_url_form(docs: Api, clock: Any) -> None:
    docs.json(
        "POST", f"{MANAGE}/docs", {"slug": "a/b/_index", "front_matter": {"title": "S"}}, expect=201
    )
    docs.json("POST", f"{url('a/b/_index')}/publish")
    clock.advance(seconds=30)  # past the feed's settle window on AWS
    items = docs.json("GET", "/v1/sync", auth=False)["items"]
    assert [(i["slug"], i["href"]) for i in items] == [
        ("a/b/_index", "/v1/content/docs/a~b~_index")
    ]
    entry = docs.call("GET", items[0]["href"], auth=False)
    assert json.loads(entry.body)["slug"] == "a/b/_index"


# --- two files of one path, through publishing and removals (the review's cases) ----------


def test_publishing_follows_the_draft_when_its_file_was_renamed(
    docs: Api, container: wiring.Container
) -> None:
    put_object(container, "content/docs/Foo.md", "---\ntitle: One\n---\none\n")
    docs.json("POST", f"{url('foo')}/publish")
    # the file renamed in the bucket (a sync after a rename): the entry is the new file
    put_object(container, "content/docs/foo.md", "---\ntitle: Two\n---\ntwo\n")
    remove_object(container, "content/docs/Foo.md")
    assert docs.json("GET", url("foo"))["file"] == "foo.md"
    docs.json("POST", f"{url('foo')}/publish")
    container.process_events()
    assert docs.json("GET", f"{DELIVER}/docs/foo", auth=False)["title"] == "Two"
    published = [i.key for i in container.backend.objects.list_objects("published/docs/")]
    assert published == ["published/docs/foo.md"]  # the stale snapshot went
    assert docs.call("DELETE", url("foo")).status_code == 204
    container.process_events()
    assert docs.call("GET", f"{DELIVER}/docs/foo", auth=False).status_code == 404
    assert docs.call("GET", url("foo")).status_code == 404


def test_unpublish_leaves_no_other_snapshot_to_come_back(
    docs: Api, container: wiring.Container
) -> None:
    entry = {"slug": "foo", "front_matter": {"title": "Old"}, "body": "old"}
    docs.json("POST", f"{MANAGE}/docs", entry, expect=201)
    docs.json("POST", f"{url('foo')}/publish")
    put_object(container, "content/docs/Foo.md", "---\ntitle: New\n---\nnew\n")  # sorts first
    assert docs.json("GET", url("foo"))["file"] == "Foo.md"
    docs.json("POST", f"{url('foo')}/publish")
    container.process_events()
    assert docs.json("GET", f"{DELIVER}/docs/foo", auth=False)["title"] == "New"
    docs.json("POST", f"{url('foo')}/unpublish")
    container.process_events()
    assert docs.call("GET", f"{DELIVER}/docs/foo", auth=False).status_code == 404


def test_a_file_in_a_folder_of_another_spelling_takes_the_entry_over(
    docs: Api, container: wiring.Container
) -> None:
    put_object(container, "content/docs/Guide/intro.md", "---\ntitle: Upper\n---\n")
    put_object(container, "content/docs/guide/intro.md", "---\ntitle: Lower\n---\n")
    assert docs.json("GET", url("guide/intro"))["file"] == "Guide/intro.md"
    remove_object(container, "content/docs/Guide/intro.md")
    view = docs.json("GET", url("guide/intro"))
    assert (view["file"], view["title"]) == ("guide/intro.md", "Lower")
    assert docs.json("GET", "/v1/manage/errors")["items"] == []


def test_rendered_html_is_addressed_by_the_renderer_version(
    docs: Api, container: wiring.Container
) -> None:
    from chalicelib.domain.rendering import RENDERER_VERSION

    docs.json("POST", f"{MANAGE}/docs", {"slug": "a", "front_matter": {"title": "A"}}, expect=201)
    record = container.backend.index.get_entry("docs", "draft", "a")
    assert record is not None and record.html_key is not None
    assert record.html_key.endswith(f".r{RENDERER_VERSION}.html")  # a new renderer writes anew


@pytest.mark.parametrize(
    "front_matter",
    ["title: 404", "tags: [2024, Go]", "author: {name: Ann, url: 'https://a.example'}"],
)
def test_what_real_sites_write_in_front_matter_is_taken(docs: Api, front_matter: str) -> None:
    view = create_file(docs, "page.md", f"---\n{front_matter}\n---\nText.\n")
    assert docs.json("GET", url(view["slug"]))["render"]["status"] == "rendered"


def test_a_toml_number_too_long_to_hold_is_422(docs: Api) -> None:
    text = f"+++\nn = {'9' * 5000}\n+++\nx"
    response = docs.call("POST", f"{MANAGE}/docs?slug=big", text, headers=MD)
    assert response.status_code == 422
    problem(response)
    batch = docs.json("POST", "/v1/manage/batch/docs", {"items": [{"slug": "b", "document": text}]})
    assert batch["items"][0]["status"] == "failed"


def test_a_folder_named_like_a_markdown_file_is_refused(docs: Api) -> None:
    create_file(docs, "a.md", "A")
    response = docs.call("POST", f"{MANAGE}/docs?file=a.md/b.md", "B", headers=MD)
    assert response.status_code == 422
    problem(response)


def test_a_batch_document_differing_only_in_its_text_is_an_update(docs: Api) -> None:
    item = {"file": "a.md", "document": "---\ntitle: A  # first\n---\nBody\n"}
    docs.json("POST", "/v1/manage/batch/docs", {"items": [item]})
    item["document"] = "---\ntitle: A  # edited comment\n---\nBody\n"
    result = docs.json("POST", "/v1/manage/batch/docs", {"items": [item]})
    assert result["items"][0]["status"] == "updated"
    assert source(docs, "a") == item["document"].encode()
