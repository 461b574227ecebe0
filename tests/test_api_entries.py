"""The management API for entries, end to end over HTTP: create, read, replace, patch, delete,
optimistic concurrency (If-Match), revisions and restore, publishing and scheduling, and how
each of those shows (or does not show) through the public delivery API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import problem

MANAGE = "/v1/manage/content"
DELIVER = "/v1/content"


def entry_url(slug: str, collection: str = "blog") -> str:
    return f"{MANAGE}/{collection}/{slug}"


def get_draft(api: Any, slug: str, collection: str = "blog") -> dict[str, Any]:
    return api.json("GET", entry_url(slug, collection))


def delivered(api: Any, slug: str, collection: str = "blog") -> Any:
    return api.call("GET", f"{DELIVER}/{collection}/{slug}", auth=False)


def delivered_slugs(api: Any, collection: str = "blog") -> list[str]:
    page = api.json("GET", f"{DELIVER}/{collection}?limit=100", auth=False)
    return [item["slug"] for item in page["items"]]


def put(api: Any, slug: str, front_matter: dict[str, Any], body: str, **headers: str) -> Any:
    return api.call(
        "PUT",
        entry_url(slug),
        {"front_matter": front_matter, "body": body},
        headers=headers or None,
    )


@pytest.fixture
def blog(api: Any, clock: Any) -> Any:
    api.collection("blog")
    return api


# --- create ---------------------------------------------------------------------------------


def test_create_from_json_returns_201_location_etag_and_editor_view(blog: Any) -> None:
    response = blog.call(
        "POST",
        f"{MANAGE}/blog",
        {
            "front_matter": {"title": "First post", "tags": ["News", "Python"], "mood": "calm"},
            "body": "# Heading\n\nSome *emphasis* here.",
        },
    )
    assert response.status_code == 201, response.body
    assert response.headers["Location"] == f"{MANAGE}/blog/first-post"
    view = json.loads(response.body)
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert etag.strip('"') == view["etag"]
    assert len(view["etag"]) == 32  # an MD5, as S3 computes it for a single-part put
    assert view["collection"] == "blog"
    assert view["slug"] == "first-post"
    assert view["body"] == "# Heading\n\nSome *emphasis* here."
    fm = view["front_matter"]
    assert fm["title"] == "First post"
    assert fm["tags"] == ["News", "Python"]  # stored as written; the index lower-cases tags
    assert fm["mood"] == "calm"  # a schemaless collection keeps custom fields
    assert "updated_at" not in fm  # nothing is added to what the client wrote
    assert view["saved_at"] == "2025-06-01T12:00:00Z"  # the server's clock
    assert "slug" not in fm  # the slug lives in the key, not in the stored front matter
    assert view["publication"]["state"] == "draft"
    assert view["publication"]["published_at"] is None
    assert view["revision"]


def test_create_from_markdown_with_front_matter(blog: Any) -> None:
    document = (
        "---\n"
        "title: Written in Markdown\n"
        "summary: A short summary.\n"
        "tags: [Docs]\n"
        "author: Ada\n"
        "---\n"
        "## Section one\n\nParagraph one.\n\n## Section two\n\nParagraph two.\n"
    )
    response = blog.call(
        "POST",
        f"{MANAGE}/blog",
        document,
        headers={"Content-Type": "text/markdown; charset=utf-8"},
    )
    assert response.status_code == 201, response.body
    assert response.headers["Location"] == f"{MANAGE}/blog/written-in-markdown"
    view = json.loads(response.body)
    assert view["slug"] == "written-in-markdown"
    assert view["front_matter"]["summary"] == "A short summary."
    assert view["front_matter"]["author"] == "Ada"
    assert view["front_matter"]["tags"] == ["Docs"]
    assert view["body"].startswith("## Section one")

    fetched = get_draft(blog, "written-in-markdown")
    assert fetched["render"]["status"] == "rendered"
    assert [h["title"] for h in fetched["render"]["toc"]] == ["Section one", "Section two"]
    assert '<h2 id="section-one">Section one</h2>' in fetched["render"]["html"]


def test_markdown_without_title_is_a_validation_problem(blog: Any) -> None:
    response = blog.call(
        "POST",
        f"{MANAGE}/blog",
        "---\nsummary: no title\n---\nBody",
        headers={"Content-Type": "text/markdown"},
    )
    assert response.status_code == 422
    body = problem(response)
    assert any(e["field"] == "front_matter.title" for e in body["errors"])


def test_slug_is_derived_as_ascii_from_a_unicode_title(blog: Any) -> None:
    view = blog.entry(title="Ünïcode Café — Привет")
    slug = view["slug"]
    assert slug == "unicode-cafe-privet"
    assert slug.isascii()
    assert view["front_matter"]["title"] == "Ünïcode Café — Привет"  # the title itself is kept
    assert get_draft(blog, slug)["front_matter"]["title"] == "Ünïcode Café — Привет"


def test_front_matter_slug_names_the_path_and_stays_in_the_front_matter(blog: Any) -> None:
    view = blog.entry(title="Whatever the title says", slug="my-own-slug")
    assert view["slug"] == "my-own-slug"
    assert view["front_matter"]["slug"] == "my-own-slug"  # the site's own field, kept
    assert get_draft(blog, "my-own-slug")["front_matter"]["title"] == "Whatever the title says"
    assert blog.call("GET", entry_url("whatever-the-title-says")).status_code == 404
    # a site's slug is free text: the path is made of it
    view = blog.entry(title="x", slug="Not A Slug")
    assert (view["slug"], view["front_matter"]["slug"]) == ("not-a-slug", "Not A Slug")


@pytest.mark.parametrize(
    "given", ["Not A Slug", "a//b", "/a", "a/", "../x", "a/./b", "x" * 121, "a/_index/b"]
)
def test_invalid_explicit_path_is_422(blog: Any, given: str) -> None:
    response = blog.call("POST", f"{MANAGE}/blog", {"slug": given, "front_matter": {"title": "x"}})
    assert response.status_code == 422, response.body
    problem(response)


def test_explicit_slug_clash_is_409_and_leaves_the_first_entry_alone(blog: Any) -> None:
    blog.entry(title="Original", slug="taken", body="original body")
    response = blog.call(
        "POST",
        f"{MANAGE}/blog",
        {"front_matter": {"title": "Intruder", "slug": "taken"}, "body": "intruder body"},
    )
    assert response.status_code == 409
    body = problem(response)
    assert body["type"].endswith("conflict")
    assert "taken" in body["detail"]
    kept = get_draft(blog, "taken")
    assert kept["front_matter"]["title"] == "Original"
    assert kept["body"] == "original body"


def test_derived_slug_clash_is_409(blog: Any) -> None:
    blog.entry(title="Same Title")
    response = blog.call(
        "POST", f"{MANAGE}/blog", {"front_matter": {"title": "Same title!"}, "body": "second"}
    )
    assert response.status_code == 409
    problem(response)
    assert get_draft(blog, "same-title")["body"] == "Hello *world*."


def test_create_in_unknown_collection_is_404(blog: Any) -> None:
    response = blog.call("POST", f"{MANAGE}/nope", {"front_matter": {"title": "x"}})
    assert response.status_code == 404
    problem(response)


# --- read -----------------------------------------------------------------------------------


def test_get_after_the_write_shows_the_rendered_draft(blog: Any) -> None:
    created = blog.entry(
        title="Rendered",
        body="# Top\n\nFirst paragraph with **bold** text.\n\n## Below\n\nMore words here.",
    )
    response = blog.call("GET", entry_url("rendered"))
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{created["etag"]}"'
    view = json.loads(response.body)
    render = view["render"]
    assert render["status"] == "rendered"
    assert render["error"] is None
    assert '<h1 id="top">Top</h1>' in render["html"]
    assert "<strong>bold</strong>" in render["html"]
    assert render["toc"][0]["title"] == "Top"
    assert render["toc"][0]["children"][0]["title"] == "Below"
    assert render["excerpt"].startswith("First paragraph with bold text")
    assert render["word_count"] >= 9
    assert render["reading_time_minutes"] >= 1
    assert view["publication"]["state"] == "draft"


def test_get_missing_entry_is_404_problem(blog: Any) -> None:
    response = blog.call("GET", entry_url("never-was"))
    assert response.status_code == 404
    assert problem(response)["type"].endswith("not-found")


# --- PUT ------------------------------------------------------------------------------------


def test_put_replaces_an_existing_entry(blog: Any) -> None:
    created = blog.entry(title="Replace me", tags=["old"], extra="gone soon", body="old body")
    response = put(blog, "replace-me", {"title": "Replaced"}, "new **body**")
    assert response.status_code == 200, response.body
    assert "Location" not in response.headers
    view = json.loads(response.body)
    assert view["etag"] != created["etag"]
    assert view["front_matter"]["title"] == "Replaced"
    assert "tags" not in view["front_matter"]  # a PUT replaces, it does not merge
    assert "extra" not in view["front_matter"]
    current = get_draft(blog, "replace-me")
    assert current["body"] == "new **body**"
    assert "<strong>body</strong>" in current["render"]["html"]


def test_put_creates_an_absent_entry_with_201(blog: Any) -> None:
    response = put(blog, "brand-new", {"title": "Brand new"}, "made by PUT")
    assert response.status_code == 201, response.body
    assert response.headers["Location"] == f"{MANAGE}/blog/brand-new"
    assert get_draft(blog, "brand-new")["body"] == "made by PUT"


def test_put_with_markdown_body(blog: Any) -> None:
    response = blog.call(
        "PUT",
        entry_url("md-put"),
        "---\ntitle: Markdown PUT\n---\nPlain *text*.",
        headers={"Content-Type": "text/markdown"},
    )
    assert response.status_code == 201, response.body
    view = get_draft(blog, "md-put")
    assert view["front_matter"]["title"] == "Markdown PUT"
    assert "<em>text</em>" in view["render"]["html"]


def test_put_keeps_the_path_whatever_the_front_matter_slug_says(blog: Any) -> None:
    blog.entry(title="Fixed slug")
    response = put(blog, "fixed-slug", {"title": "Fixed slug", "slug": "other-slug"}, "x")
    assert response.status_code == 200, response.body
    assert blog.call("GET", entry_url("other-slug")).status_code == 404
    view = get_draft(blog, "fixed-slug")
    assert (view["slug"], view["front_matter"]["slug"], view["body"]) == (
        "fixed-slug",
        "other-slug",
        "x",
    )


def test_put_create_with_if_match_is_412(blog: Any) -> None:
    response = put(blog, "absent", {"title": "Absent"}, "x", **{"If-Match": '"abc"'})
    assert response.status_code == 412
    problem(response)
    assert blog.call("GET", entry_url("absent")).status_code == 404


# --- PATCH ----------------------------------------------------------------------------------


def test_patch_merges_front_matter_and_null_removes_a_field(blog: Any) -> None:
    blog.entry(
        title="Patch me", summary="Old summary", author="Ann", tags=["a"], body="Original body"
    )
    response = blog.call(
        "PATCH",
        entry_url("patch-me"),
        {"front_matter": {"summary": None, "author": "Bob", "colour": "blue"}},
    )
    assert response.status_code == 200, response.body
    fm = json.loads(response.body)["front_matter"]
    assert fm["title"] == "Patch me"  # untouched fields stay
    assert fm["tags"] == ["a"]
    assert fm["author"] == "Bob"  # changed
    assert fm["colour"] == "blue"  # added
    assert "summary" not in fm  # null removes
    current = get_draft(blog, "patch-me")
    assert current["body"] == "Original body"  # no body given: the body stays
    assert current["front_matter"] == fm


def test_patch_replaces_the_body(blog: Any) -> None:
    blog.entry(title="Body swap", body="before")
    view = blog.json("PATCH", entry_url("body-swap"), {"body": "# After\n\nnew"})
    assert view["body"] == "# After\n\nnew"
    assert view["front_matter"]["title"] == "Body swap"
    current = get_draft(blog, "body-swap")
    assert '<h1 id="after">After</h1>' in current["render"]["html"]


def test_patch_without_a_title_falls_back_to_the_file_name_and_keeps_the_path(blog: Any) -> None:
    blog.entry(title="Keep title")
    response = blog.call("PATCH", entry_url("keep-title"), {"front_matter": {"title": None}})
    assert response.status_code == 200, response.body
    view = get_draft(blog, "keep-title")
    assert "title" not in view["front_matter"]
    assert view["title"] == "Keep title"  # from the file name, keep-title.md
    response = blog.call("PATCH", entry_url("keep-title"), {"front_matter": {"slug": "moved"}})
    assert response.status_code == 200
    assert get_draft(blog, "keep-title")["front_matter"]["slug"] == "moved"
    assert blog.call("GET", entry_url("moved")).status_code == 404
    response = blog.call("PATCH", entry_url("keep-title"), {"front_matter": {"title": ""}})
    assert response.status_code == 422  # a title, when given, is not blank
    problem(response)


def test_patch_missing_entry_is_404(blog: Any) -> None:
    response = blog.call("PATCH", entry_url("ghost"), {"body": "x"})
    assert response.status_code == 404
    problem(response)


# --- If-Match -------------------------------------------------------------------------------


def test_put_with_the_current_etag_succeeds(blog: Any) -> None:
    created = blog.entry(title="Guarded")
    response = put(
        blog, "guarded", {"title": "Guarded"}, "v2", **{"If-Match": f'"{created["etag"]}"'}
    )
    assert response.status_code == 200, response.body
    assert get_draft(blog, "guarded")["body"] == "v2"


def test_two_editors_the_second_save_with_a_stale_etag_is_412(blog: Any) -> None:
    blog.entry(title="Shared doc", body="base text")
    seen_by_a = blog.call("GET", entry_url("shared-doc")).headers["ETag"]
    seen_by_b = blog.call("GET", entry_url("shared-doc")).headers["ETag"]
    assert seen_by_a == seen_by_b

    saved_a = put(
        blog, "shared-doc", {"title": "Shared doc"}, "A wrote this", **{"If-Match": seen_by_a}
    )
    assert saved_a.status_code == 200, saved_a.body

    saved_b = put(
        blog, "shared-doc", {"title": "Shared doc"}, "B wrote that", **{"If-Match": seen_by_b}
    )
    assert saved_b.status_code == 412
    body = problem(saved_b)
    assert body["type"].endswith("precondition-failed")

    current = blog.call("GET", entry_url("shared-doc"))
    view = json.loads(current.body)
    assert view["body"] == "A wrote this"
    assert current.headers["ETag"] == saved_a.headers["ETag"]
    assert view["render"]["status"] == "rendered"
    assert view["render"]["html"] == "<p>A wrote this</p>"
    assert len(revisions(blog, "shared-doc")) == 2  # B's refused save left no revision


def test_patch_with_stale_etag_is_412_and_changes_nothing(blog: Any) -> None:
    first = blog.entry(title="Patched twice", body="one")
    blog.json("PATCH", entry_url("patched-twice"), {"body": "two"})
    response = blog.call(
        "PATCH",
        entry_url("patched-twice"),
        {"body": "three"},
        headers={"If-Match": f'"{first["etag"]}"'},
    )
    assert response.status_code == 412
    problem(response)
    assert get_draft(blog, "patched-twice")["body"] == "two"


def test_if_match_star_matches_any_current_version(blog: Any) -> None:
    blog.entry(title="Star")
    response = put(blog, "star", {"title": "Star"}, "starred", **{"If-Match": "*"})
    assert response.status_code == 200


def test_delete_honours_if_match(blog: Any) -> None:
    created = blog.entry(title="Delete guarded", body="one")
    blog.json("PATCH", entry_url("delete-guarded"), {"body": "two"})
    stale = blog.call(
        "DELETE", entry_url("delete-guarded"), headers={"If-Match": f'"{created["etag"]}"'}
    )
    assert stale.status_code == 412
    problem(stale)
    assert get_draft(blog, "delete-guarded")["body"] == "two"

    current = blog.call("GET", entry_url("delete-guarded")).headers["ETag"]
    gone = blog.call("DELETE", entry_url("delete-guarded"), headers={"If-Match": current})
    assert gone.status_code == 204
    assert gone.body in (b"", "", None)
    assert blog.call("GET", entry_url("delete-guarded")).status_code == 404


# --- DELETE ---------------------------------------------------------------------------------


def test_delete_then_get_is_404_and_the_list_forgets_it(blog: Any) -> None:
    blog.entry(title="Short lived")
    blog.entry(title="Stays")
    assert blog.call("DELETE", entry_url("short-lived")).status_code == 204
    response = blog.call("GET", entry_url("short-lived"))
    assert response.status_code == 404
    problem(response)
    listing = blog.json("GET", f"{MANAGE}/blog")
    assert [item["slug"] for item in listing["items"]] == ["stays"]
    again = blog.call("DELETE", entry_url("short-lived"))
    assert again.status_code == 404
    problem(again)


def test_slug_is_free_again_after_delete(blog: Any) -> None:
    blog.entry(title="Reborn", body="first life")
    blog.call("DELETE", entry_url("reborn"))
    blog.entry(title="Reborn", body="second life")
    view = get_draft(blog, "reborn")
    assert view["body"] == "second life"
    assert view["render"]["status"] == "rendered"


# --- revisions ------------------------------------------------------------------------------


def revisions(api: Any, slug: str) -> list[dict[str, Any]]:
    return api.json("GET", f"{entry_url(slug)}/revisions")["items"]


def test_revisions_grow_with_each_save_newest_first(blog: Any) -> None:
    first = blog.entry(title="Versioned", body="v1")
    items = revisions(blog, "versioned")
    assert len(items) == 1
    assert items[0]["revision"] == first["revision"]
    assert items[0]["current"] is True

    second = json.loads(put(blog, "versioned", {"title": "Versioned"}, "v2").body)
    third = blog.json("PATCH", entry_url("versioned"), {"body": "v3"})
    items = revisions(blog, "versioned")
    assert [i["revision"] for i in items] == [
        third["revision"],
        second["revision"],
        first["revision"],
    ]
    assert [i["current"] for i in items] == [True, False, False]
    assert [i["etag"] for i in items] == [third["etag"], second["etag"], first["etag"]]
    assert all(i["deleted"] is False and i["size"] > 0 for i in items)


def test_restore_an_older_revision_makes_it_current_as_a_new_revision(blog: Any) -> None:
    first = blog.entry(title="Restorable", body="# Original\n\nThe first words.")
    blog.json(
        "PATCH",
        entry_url("restorable"),
        {"front_matter": {"title": "Rewritten"}, "body": "# Rewrite\n\nOther words."},
    )
    response = blog.call("POST", f"{entry_url('restorable')}/revisions/{first['revision']}/restore")
    assert response.status_code == 200, response.body
    restored = json.loads(response.body)
    assert restored["body"] == "# Original\n\nThe first words."
    assert restored["front_matter"]["title"] == "Restorable"
    assert restored["revision"] != first["revision"]  # a new revision, history kept

    items = revisions(blog, "restorable")
    assert len(items) == 3
    assert items[0]["revision"] == restored["revision"]
    assert items[0]["current"] is True
    assert items[2]["revision"] == first["revision"]

    view = get_draft(blog, "restorable")
    assert view["body"] == "# Original\n\nThe first words."
    assert view["render"]["status"] == "rendered"
    assert '<h1 id="original">Original</h1>' in view["render"]["html"]
    assert "Rewrite" not in view["render"]["html"]


def test_a_percent_encoded_revision_id_names_the_same_revision(blog: Any) -> None:
    """A client may encode '+' and '=' of an id: API Gateway decodes path parameters, the
    test client and `chalice local` do not, and the route reads both the same."""
    first = blog.entry(title="Encoded", body="The first words.")
    blog.json("PATCH", entry_url("encoded"), {"body": "Other words."})
    encoded = "".join(f"%{ord(c):02X}" for c in first["revision"])
    response = blog.call("POST", f"{entry_url('encoded')}/revisions/{encoded}/restore")
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["body"] == "The first words."


def test_restore_unknown_revision_is_404(blog: Any) -> None:
    blog.entry(title="Has history")
    response = blog.call("POST", f"{entry_url('has-history')}/revisions/{'0' * 32}/restore")
    assert response.status_code == 404
    problem(response)


def test_restore_a_revision_of_another_entry_is_404(blog: Any) -> None:
    other = blog.entry(title="Other entry", body="other")
    blog.entry(title="Mine", body="mine")
    response = blog.call("POST", f"{entry_url('mine')}/revisions/{other['revision']}/restore")
    assert response.status_code == 404
    problem(response)
    assert get_draft(blog, "mine")["body"] == "mine"


def test_restore_with_stale_if_match_is_412(blog: Any) -> None:
    first = blog.entry(title="Guarded restore", body="one")
    blog.json("PATCH", entry_url("guarded-restore"), {"body": "two"})
    response = blog.call(
        "POST",
        f"{entry_url('guarded-restore')}/revisions/{first['revision']}/restore",
        headers={"If-Match": f'"{first["etag"]}"'},
    )
    assert response.status_code == 412
    problem(response)
    assert get_draft(blog, "guarded-restore")["body"] == "two"


def test_revisions_of_a_deleted_entry_show_the_delete_and_can_be_restored(blog: Any) -> None:
    first = blog.entry(title="Undelete me", body="precious")
    blog.call("DELETE", entry_url("undelete-me"))
    items = revisions(blog, "undelete-me")
    assert items[0]["deleted"] is True
    assert items[0]["current"] is False
    assert items[1]["revision"] == first["revision"]
    response = blog.call(
        "POST", f"{entry_url('undelete-me')}/revisions/{first['revision']}/restore"
    )
    assert response.status_code == 200, response.body
    view = get_draft(blog, "undelete-me")
    assert view["body"] == "precious"
    assert view["render"]["status"] == "rendered"


# --- publishing -----------------------------------------------------------------------------


def test_publish_makes_the_entry_visible_in_delivery(blog: Any) -> None:
    blog.entry(title="Going live", body="# Live\n\nNow public.", tags=["Launch"])
    assert delivered(blog, "going-live").status_code == 404
    result = blog.publish("blog", "going-live")
    assert result["state"] == "published"
    assert result["published_at"] == "2025-06-01T12:00:00Z"

    response = delivered(blog, "going-live")
    assert response.status_code == 200
    entry = json.loads(response.body)
    assert entry["title"] == "Going live"
    assert entry["published_at"] == "2025-06-01T12:00:00Z"
    assert entry["tags"] == ["launch"]
    assert '<h1 id="live">Live</h1>' in entry["html"]
    assert delivered_slugs(blog) == ["going-live"]

    view = get_draft(blog, "going-live")
    assert view["publication"]["state"] == "published"
    assert view["publication"]["published_at"] == "2025-06-01T12:00:00Z"


def test_publish_missing_entry_is_404(blog: Any) -> None:
    response = blog.call("POST", f"{entry_url('absent')}/publish")
    assert response.status_code == 404
    problem(response)


def test_publish_with_invalid_publish_at_is_422(blog: Any) -> None:
    blog.entry(title="Bad date")
    response = blog.call("POST", f"{entry_url('bad-date')}/publish", {"publish_at": "soonish"})
    assert response.status_code == 422
    problem(response)
    assert delivered(blog, "bad-date").status_code == 404


def test_publish_with_stale_if_match_is_412(blog: Any) -> None:
    first = blog.entry(title="Publish guarded", body="one")
    blog.json("PATCH", entry_url("publish-guarded"), {"body": "two"})
    response = blog.call(
        "POST",
        f"{entry_url('publish-guarded')}/publish",
        headers={"If-Match": f'"{first["etag"]}"'},
    )
    assert response.status_code == 412
    problem(response)
    assert delivered(blog, "publish-guarded").status_code == 404


def test_scheduled_entry_appears_only_when_the_clock_passes_publish_at(
    blog: Any, clock: Any
) -> None:
    blog.entry(title="Already out")
    blog.publish("blog", "already-out")
    blog.entry(title="Coming soon", body="Worth the wait.")
    result = blog.publish("blog", "coming-soon", publish_at="2025-06-03T09:00:00Z")
    assert result["state"] == "scheduled"
    assert result["published_at"] == "2025-06-03T09:00:00Z"
    assert get_draft(blog, "coming-soon")["publication"]["state"] == "scheduled"

    assert delivered(blog, "coming-soon").status_code == 404
    assert delivered_slugs(blog) == ["already-out"]

    clock.advance(days=1, hours=20, minutes=59, seconds=59)  # one second before
    assert delivered(blog, "coming-soon").status_code == 404
    assert delivered_slugs(blog) == ["already-out"]

    clock.advance(seconds=1)  # exactly due: no further call needed to release it
    response = delivered(blog, "coming-soon")
    assert response.status_code == 200
    assert json.loads(response.body)["published_at"] == "2025-06-03T09:00:00Z"
    assert delivered_slugs(blog) == ["coming-soon", "already-out"]
    assert get_draft(blog, "coming-soon")["publication"]["state"] == "published"


def test_publish_at_in_the_past_publishes_now_with_that_date(blog: Any) -> None:
    blog.entry(title="Backdated")
    result = blog.publish("blog", "backdated", publish_at="2020-01-02T03:04:05+02:00")
    assert result["state"] == "published"
    assert result["published_at"] == "2020-01-02T01:04:05Z"
    assert json.loads(delivered(blog, "backdated").body)["published_at"] == "2020-01-02T01:04:05Z"


def test_unpublish_hides_it_from_delivery_but_keeps_the_draft(blog: Any) -> None:
    blog.entry(title="Retracted", body="still here")
    blog.publish("blog", "retracted")
    assert delivered(blog, "retracted").status_code == 200
    result = blog.json("POST", f"{entry_url('retracted')}/unpublish")
    assert result["state"] == "draft"

    assert delivered(blog, "retracted").status_code == 404
    assert delivered_slugs(blog) == []
    view = get_draft(blog, "retracted")
    assert view["body"] == "still here"
    assert view["publication"]["state"] == "draft"
    # unpublishing twice is harmless
    assert blog.json("POST", f"{entry_url('retracted')}/unpublish")["state"] == "draft"


def test_unpublish_missing_entry_is_404(blog: Any) -> None:
    response = blog.call("POST", f"{entry_url('nothing')}/unpublish")
    assert response.status_code == 404
    problem(response)


def test_republish_keeps_the_original_published_at(blog: Any, clock: Any) -> None:
    blog.entry(title="Evergreen", body="v1")
    assert blog.publish("blog", "evergreen")["published_at"] == "2025-06-01T12:00:00Z"
    clock.advance(days=3)
    blog.json("PATCH", entry_url("evergreen"), {"body": "v2"})
    again = blog.publish("blog", "evergreen")
    assert again["published_at"] == "2025-06-01T12:00:00Z"
    entry = json.loads(delivered(blog, "evergreen").body)
    assert entry["published_at"] == "2025-06-01T12:00:00Z"
    assert "v2" in entry["html"]
    assert entry["updated_at"] == "2025-06-04T12:00:00Z"


def test_republish_with_publish_at_moves_the_date(blog: Any, clock: Any) -> None:
    blog.entry(title="Redated")
    blog.publish("blog", "redated")
    clock.advance(days=2)
    again = blog.publish("blog", "redated", publish_at="2025-06-02T08:00:00Z")
    assert again["published_at"] == "2025-06-02T08:00:00Z"
    assert json.loads(delivered(blog, "redated").body)["published_at"] == "2025-06-02T08:00:00Z"


def test_republish_after_unpublish_keeps_the_original_published_at(blog: Any, clock: Any) -> None:
    blog.entry(title="Comeback")
    blog.publish("blog", "comeback")
    clock.advance(days=1)
    blog.json("POST", f"{entry_url('comeback')}/unpublish")
    clock.advance(days=1)
    again = blog.publish("blog", "comeback")
    assert again["published_at"] == "2025-06-01T12:00:00Z"


def test_editing_a_published_draft_does_not_change_delivery_until_publish(
    blog: Any, clock: Any
) -> None:
    blog.entry(title="Stable", body="# Published words\n\nVersion one.")
    blog.publish("blog", "stable")
    before = delivered(blog, "stable")
    clock.advance(hours=1)

    blog.json(
        "PATCH",
        entry_url("stable"),
        {"front_matter": {"title": "Stable, edited"}, "body": "# Draft words\n\nVersion two."},
    )
    draft = get_draft(blog, "stable")
    assert "Draft words" in draft["render"]["html"]
    assert draft["publication"]["state"] == "published"

    after = delivered(blog, "stable")
    assert after.status_code == 200
    assert after.body == before.body
    assert after.headers["ETag"] == before.headers["ETag"]
    listed = blog.json("GET", f"{DELIVER}/blog", auth=False)["items"]
    assert [i["title"] for i in listed] == ["Stable"]

    blog.publish("blog", "stable")
    entry = json.loads(delivered(blog, "stable").body)
    assert entry["title"] == "Stable, edited"
    assert "Draft words" in entry["html"]
    assert "Published words" not in entry["html"]


def test_deleting_a_published_entry_removes_it_from_delivery(blog: Any) -> None:
    blog.entry(title="Doomed")
    blog.entry(title="Survivor")
    blog.publish("blog", "doomed")
    blog.publish("blog", "survivor")
    assert sorted(delivered_slugs(blog)) == ["doomed", "survivor"]

    assert blog.call("DELETE", entry_url("doomed")).status_code == 204
    assert delivered(blog, "doomed").status_code == 404
    assert delivered_slugs(blog) == ["survivor"]
    tagged = blog.json("GET", f"{DELIVER}/blog?sort=title", auth=False)
    assert [i["slug"] for i in tagged["items"]] == ["survivor"]


def test_delete_of_a_tagged_published_entry_removes_it_from_the_tag_listing(blog: Any) -> None:
    blog.entry(title="Tagged doomed", tags=["x"])
    blog.publish("blog", "tagged-doomed")
    assert blog.json("GET", f"{DELIVER}/blog?tag=x", auth=False)["items"][0]["slug"] == (
        "tagged-doomed"
    )
    blog.call("DELETE", entry_url("tagged-doomed"))
    assert blog.json("GET", f"{DELIVER}/blog?tag=x", auth=False)["items"] == []


# --- schema collections and references ------------------------------------------------------


@pytest.fixture
def library(api: Any, clock: Any) -> Any:
    api.collection("authors")
    api.collection(
        "books",
        {
            "writer": {"type": "reference", "collection": "authors", "required": True},
            "pages": {"type": "number"},
            "format": {"type": "enum", "values": ["paper", "ebook"]},
        },
    )
    api.entry("authors", title="Jane Austen")
    return api


def test_reference_to_an_existing_entry_is_accepted(library: Any) -> None:
    view = library.entry(
        "books", title="Emma", writer="jane-austen", pages=474, format="paper", body="A novel."
    )
    assert view["front_matter"]["writer"] == "jane-austen"
    assert view["front_matter"]["pages"] == 474
    library.publish("books", "emma")
    entry = json.loads(delivered(library, "emma", "books").body)
    assert entry["front_matter"]["writer"] == "jane-austen"
    assert entry["front_matter"]["format"] == "paper"


def test_reference_to_a_missing_entry_is_422(library: Any) -> None:
    response = library.call(
        "POST",
        f"{MANAGE}/books",
        {"front_matter": {"title": "Ghost book", "writer": "nobody-at-all"}},
    )
    assert response.status_code == 422
    body = problem(response)
    errors = {e["field"]: e for e in body["errors"]}
    assert errors["front_matter.writer"]["code"] == "unknown-reference"
    assert library.call("GET", entry_url("ghost-book", "books")).status_code == 404


def test_reference_to_a_deleted_entry_is_422(library: Any) -> None:
    library.entry("authors", title="Temporary author")
    library.call("DELETE", entry_url("temporary-author", "authors"))
    response = library.call(
        "POST",
        f"{MANAGE}/books",
        {"front_matter": {"title": "Orphan", "writer": "temporary-author"}},
    )
    assert response.status_code == 422
    problem(response)


def test_schema_collection_refuses_unknown_and_ill_typed_fields(library: Any) -> None:
    response = library.call(
        "POST",
        f"{MANAGE}/books",
        {
            "front_matter": {
                "title": "Typo",
                "writer": "jane-austen",
                "pages": "many",
                "format": "scroll",
                "colour": "red",
            }
        },
    )
    assert response.status_code == 422
    fields = {e["field"] for e in problem(response)["errors"]}
    assert {"front_matter.pages", "front_matter.format", "front_matter.colour"} <= fields


def test_required_reference_cannot_be_patched_away(library: Any) -> None:
    library.entry("books", title="Persuasion", writer="jane-austen")
    response = library.call(
        "PATCH", entry_url("persuasion", "books"), {"front_matter": {"writer": None}}
    )
    assert response.status_code == 422
    problem(response)
    response = library.call(
        "PATCH", entry_url("persuasion", "books"), {"front_matter": {"writer": "nobody"}}
    )
    assert response.status_code == 422
    assert get_draft(library, "persuasion", "books")["front_matter"]["writer"] == "jane-austen"


# --- more edges -----------------------------------------------------------------------------


def test_delete_of_a_published_entry_with_stale_if_match_keeps_it_live(blog: Any) -> None:
    first = blog.entry(title="Still live", body="one")
    blog.json("PATCH", entry_url("still-live"), {"body": "two"})
    blog.publish("blog", "still-live")
    response = blog.call(
        "DELETE", entry_url("still-live"), headers={"If-Match": f'"{first["etag"]}"'}
    )
    assert response.status_code == 412
    problem(response)
    assert delivered(blog, "still-live").status_code == 200
    assert delivered_slugs(blog) == ["still-live"]


def test_unpublishing_a_scheduled_entry_keeps_it_hidden_after_its_time(
    blog: Any, clock: Any
) -> None:
    blog.entry(title="Cancelled")
    assert blog.publish("blog", "cancelled", publish_at="2025-06-02T00:00:00Z")["state"] == (
        "scheduled"
    )
    blog.json("POST", f"{entry_url('cancelled')}/unpublish")
    clock.advance(days=5)
    assert delivered(blog, "cancelled").status_code == 404
    assert delivered_slugs(blog) == []
    assert get_draft(blog, "cancelled")["publication"]["state"] == "draft"


def test_restoring_the_delete_marker_revision_is_404(blog: Any) -> None:
    blog.entry(title="Marker")
    blog.call("DELETE", entry_url("marker"))
    marker = revisions(blog, "marker")[0]
    assert marker["deleted"] is True
    response = blog.call("POST", f"{entry_url('marker')}/revisions/{marker['revision']}/restore")
    assert response.status_code == 404
    problem(response)
    assert blog.call("GET", entry_url("marker")).status_code == 404


def test_revisions_of_a_missing_entry_is_404(blog: Any) -> None:
    response = blog.call("GET", f"{entry_url('no-such-entry')}/revisions")
    assert response.status_code == 404
    problem(response)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "text/plain", "text/markdown"]
)
def test_create_accepts_content_type_variants(blog: Any, content_type: str) -> None:
    if content_type.startswith("application/json"):
        raw = json.dumps({"front_matter": {"title": "Variant"}, "body": "variant body"})
    else:
        raw = "---\ntitle: Variant\n---\nvariant body"
    response = blog.call("POST", f"{MANAGE}/blog", raw, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.body
    assert get_draft(blog, "variant")["body"] == "variant body"


def test_create_with_an_unsupported_content_type_is_415(blog: Any) -> None:
    response = blog.call(
        "POST", f"{MANAGE}/blog", "<entry/>", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 415
    problem(response)


@pytest.mark.parametrize("limit", ["%C2%B2", "%E2%91%A0"])  # '²' and '①'
def test_draft_list_limit_with_unicode_digits_is_400(blog: Any, limit: str) -> None:
    blog.entry(title="Listed")
    response = blog.call("GET", f"{MANAGE}/blog?limit={limit}")
    assert response.status_code == 400, response.body
    problem(response)
