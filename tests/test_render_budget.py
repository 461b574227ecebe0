"""No document can stall rendering: every hostile shape ends, rendered or refused, within the
CPU budget (plus a little), refused ones with a reason editors can read, after one try."""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.render_budget import (
    RENDER_ERROR,
    TOO_COMPLEX,
    RenderBudget,
    RenderRefused,
    check_html,
    nesting_depth,
    render_within,
    within_budget,
)
from chalicelib.domain.rendering import clear_memo, render_markdown, warm
from tests.conftest import problem
from tests.hostile_markdown import HOSTILE

BUDGET = RenderBudget(cpu_seconds=0.5, max_depth=32)
SLACK = 0.5  # CPU time allowed beyond the budget (the checks before and after the timer)
# Wall time on a machine shared with the rest of the suite: the budget is CPU time, and a
# loaded 2-core machine gives this process a fraction of a core.
WALL = 4 * (BUDGET.cpu_seconds + SLACK)


@pytest.fixture(autouse=True, scope="module")
def _parser_loaded() -> None:
    """The budget is for rendering; loading the parser and sanitizer is the container's
    one-time cost, which ``render_within`` pays before its timer starts and CI's first test
    in a cold worker would otherwise be charged for."""
    warm()


class Spent:
    """CPU and wall seconds spent by this process since it was made."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.monotonic()

    def check(self, cpu: float, wall: float = WALL) -> None:
        cpu_spent, wall_spent = time.process_time() - self.cpu, time.monotonic() - self.wall
        assert cpu_spent < cpu, f"{cpu_spent:.2f} s of CPU"
        assert wall_spent < wall, f"{wall_spent:.2f} s of wall time"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_shape_ends_within_the_budget(name: str) -> None:
    clear_memo()
    spent = Spent()
    try:
        rendered = render_within(BUDGET, HOSTILE[name])
    except RenderRefused as refused:
        assert refused.code == TOO_COMPLEX, refused
        assert "budget of 0.5 s" in refused.detail or "; the limit is " in refused.detail
    else:
        assert rendered.html is not None
    spent.check(cpu=BUDGET.cpu_seconds + SLACK)


def test_the_quadratic_shapes_are_refused_for_the_budget_not_the_depth() -> None:
    clear_memo()
    with pytest.raises(RenderRefused) as refused:
        render_within(BUDGET, HOSTILE["brackets"])
    assert str(refused.value) == (
        "render-too-complex: rendering took more than the budget of 0.5 s of CPU time."
    )


def test_deep_nesting_is_refused_before_parsing() -> None:
    spent = Spent()
    with pytest.raises(RenderRefused) as refused:
        render_within(BUDGET, HOSTILE["list-500-deep"])
    assert "nests 500 levels deep" in refused.value.detail
    assert "the limit is 32" in refused.value.detail
    spent.check(cpu=0.2)


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        ("plain text", 0),
        ("> quote\n>> deeper\n> > > three", 3),
        ("- a\n  - b\n    - c", 3),
        ("1. a\n   1. b", 2),
        ("> - in a quote\n>   - nested", 3),
        ("```\n- code, not a list\n" + ">" * 40 + "\n```\n> after", 1),
        ("~~~~\n```\n>>>> inside both\n```\n~~~~", 0),
        ("```\n>>>> a fence never closed runs to the end", 0),
        ("\t- tab indented", 3),
    ],
)
def test_nesting_depth(body: str, depth: int) -> None:
    assert nesting_depth(body) == depth


def test_real_site_pages_stay_well_inside_the_limits() -> None:
    """Every page of the Hugo fixture site (fences in lists, alerts, shortcodes...) renders
    under the default budget and nests far less deep than the default limit."""
    from chalicelib.domain import frontmatter
    from tests.sitegen import HUGO_DOCS

    pages = sorted(HUGO_DOCS.rglob("*.md"))
    assert len(pages) >= 80
    for page in pages:
        body = frontmatter.parse(page.read_text())[1]
        assert nesting_depth(body) < RenderBudget().max_depth // 2, page
        render_within(RenderBudget(), body)


def test_html_the_sanitizer_would_be_slow_on_is_refused_before_it() -> None:
    from chalicelib.domain.render_budget import check_html, html_nesting_depth

    assert html_nesting_depth("<div><span>a</span><br><img src=x/><x-y/></div>") == 2
    assert html_nesting_depth("</div></div><div>") == 1
    # end tags HTML lets authors leave out: the parser closes those elements itself (a
    # table's rows go in the <tbody> it adds)
    assert html_nesting_depth("<table>" + "<tr><td>x" * 300 + "</table>") == 4
    assert html_nesting_depth("<ul>" + "<li>item" * 600 + "</ul>") == 2
    check_html("<p>" + "&amp;" * 250_000 + "</p>")
    with pytest.raises(RenderRefused, match="250001 character references"):
        check_html("<p>" + "&amp;" * 250_001 + "</p>")
    check_html("<div>" * 4096)
    with pytest.raises(RenderRefused, match="nests 4097 elements deep; the limit is 4096"):
        check_html("<div>" * 4097)


def test_formatting_elements_left_open_are_counted_as_the_parser_re_creates_them() -> None:
    """The sanitizer's parser re-creates each formatting element an end tag popped without
    closing at the next text or inline tag: 2,000 '<b title=i>' each in its own paragraph,
    closed by a stray '</x>', made it work 5.6 s in native code, whatever the budget, for
    52 KB. Each way around the first estimate of this is refused too."""
    from chalicelib.domain.render_budget import MAX_HTML_DEPTH, MAX_REOPENED, html_shape

    def paragraphs(count: int, title: object = str) -> str:
        return "<div>" + "".join(f'<p><b title="{title(i)}"></x></p>' for i in range(count))

    assert html_shape(paragraphs(10)).reopened == sum(range(10))
    assert html_shape("".join(f'<b title="{i}">' for i in range(10))).reopened == 0  # nested
    assert html_shape("<b>x</b>" * 1000 + "<p>x</p>" * 1000).reopened == 0  # closed
    attacks = {
        "numbered": paragraphs(600),
        "alike but for case": paragraphs(600, lambda i: f"{i:b}".replace("1", "A")),
        "'<' in the attribute": paragraphs(600, lambda i: f"<{i}"),
        "popped by nested blocks": "<div>" * 3600
        + "".join(f'<b title="{i}">' for i in range(440))
        + "x</div>" * 3600,
    }
    for name, html in attacks.items():
        with pytest.raises(RenderRefused, match="render-too-complex: the HTML "):
            check_html(html)
        shape = html_shape(html)  # re-created ones nest too: the depth may say it first
        assert shape.reopened > MAX_REOPENED or shape.depth > MAX_HTML_DEPTH, name
    # an ordinary page: <b>, <i> and <a> written as raw tags, then a long code block
    page = (
        "<p>Write <b> for bold, <i> for italics and <a> for links.</p>\n"
        + '<div class="highlight"><pre><code>'
        + '<span class="k">def</span> <span class="n">f</span>\n' * 12_000
        + "</code></pre></div>"
    )
    assert html_shape(page).reopened < 50  # a few per block, none per <span>
    check_html(page)


def test_self_closing_syntax_on_an_element_that_is_not_void_hides_no_depth() -> None:
    from chalicelib.domain.render_budget import html_shape

    assert html_shape("<div/>" * 5000).depth == 5000  # HTML ignores the '/'
    assert html_shape("<br/><img src=x/><hr/>" * 5000).depth == 0
    assert html_shape("<div></x>" * 10).depth == 10  # an end tag closing nothing
    assert html_shape("<div><span><div></span></div></div>").depth == 3


@pytest.mark.parametrize(
    "html",
    [
        "<h1>" * 2000 + "<div><div></h1>" * 2000,  # a heading closes the heading it is in
        "<i></span><button>" * 120 + "<table><tr><td>" * 120,  # a button closes a button
        "<div>" + "<ruby><h1><p><rt>" * 2000 + "</div>",  # <rt> closes a <p> it cannot see
    ],
)
def test_elements_the_parser_closed_itself_do_not_hide_depth(html: str) -> None:
    """An element that a start tag closed is not on the estimate's stack either, so no later
    end tag pops what the parser keeps open there (the estimate said 122 for 238)."""
    from chalicelib.domain.render_budget import html_shape
    from chalicelib.domain.rendering import sanitize_html

    assert html_shape(html).depth + 1 >= _nesting(sanitize_html(html))


_PIECES = [
    "<div>", "</div>", "<p>", "</p>", '<b title="{n}">', "<b>", "</b>", "<i>", "</i>",
    "<span>", "</span>", "x", " ", "\n", "</x>", "<li>", "<ul>", "</ul>",
    "<table><tr><td>", "</td>", "</table>", '<a href="/{n}">', "</a>", '<em class="{n}">',
    "</em>", "<div/>", "<br>", "<h1>", "</h1>", "<pre>", "</pre>", "<code>", "</code>",
    "<strong>", "</strong>", "<blockquote>", "</blockquote>", '<font size="{n}">', "</font>",
    "<h2>", "</h2>", "<ruby>", "<rt>",
]  # fmt: skip
_FORMATTING_TAG = re.compile(r"<(?:a|b|big|code|em|font|i|nobr|s|small|strike|strong|tt|u)\b")


@given(
    head=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5),
    tail=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6),
)
@settings(max_examples=150, deadline=None)
def test_the_estimate_bounds_what_the_parser_re_creates(head: list[str], tail: list[str]) -> None:
    """Any mix of these pieces, the head repeated then the tail repeated (120 times each,
    each repetition with attributes of its own): the formatting elements in the sanitizer's
    output beyond those written are at most the estimate plus a few per tag (the parser's
    adoption agency clones some on misnested end tags, a bounded number per tag), and its
    elements nest no deeper than the estimate."""
    from chalicelib.domain.html_cost import TAG
    from chalicelib.domain.render_budget import html_shape
    from chalicelib.domain.rendering import sanitize_html

    html = "".join("".join(head).replace("{n}", str(n)) for n in range(120))
    html += "".join("".join(tail).replace("{n}", str(n)) for n in range(120))
    written = len(_FORMATTING_TAG.findall(html))
    out = sanitize_html(html)
    made = len(_FORMATTING_TAG.findall(out))
    shape = html_shape(html)
    assert made - written <= shape.reopened + 3 * len(TAG.findall(html))
    assert _nesting(out) <= shape.depth + 1  # +1: a <p> that '</p>' alone makes


def _nesting(html: str) -> int:
    """How deep the elements of well-formed HTML (the sanitizer's output) nest."""
    from html.parser import HTMLParser

    class Depth(HTMLParser):
        depth = deepest = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag not in ("br", "img", "hr", "wbr"):
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)

        def handle_endtag(self, tag: str) -> None:
            if tag not in ("br", "img", "hr", "wbr"):
                self.depth -= 1

    parser = Depth()
    parser.feed(html)
    return parser.deepest


def test_the_timer_fires_again_when_native_code_swallowed_it() -> None:
    """nh3 calls back into Python (its attribute filter) and prints, then ignores, an
    exception raised there: a budget that fired once would never stop the render again."""
    from chalicelib.domain.render_budget import _cpu_timer, _OverBudget

    swallowed = 0
    spent = Spent()
    with contextlib.suppress(_OverBudget), _cpu_timer(0.2):
        while swallowed < 2 and time.process_time() - spent.cpu < 3:
            try:
                while time.process_time() - spent.cpu < 3:
                    sum(range(10_000))
            except _OverBudget:
                swallowed += 1  # and go on, as nh3 does
    assert swallowed == 2
    spent.check(cpu=0.2 + 0.3)


def test_the_tag_scan_is_linear() -> None:
    from chalicelib.domain.render_budget import html_nesting_depth

    spent = Spent()
    html_nesting_depth("<" + "a" * 200_000)
    html_nesting_depth("<a" * 100_000)
    html_nesting_depth("<b>" * 50_000 + "</b>" * 50_000 + "</x>" * 50_000)
    spent.check(cpu=0.5)


def test_a_parser_exception_is_a_render_error_not_a_crash() -> None:
    def broken() -> None:
        raise IndexError("list index out of range")

    with pytest.raises(RenderRefused) as refused:
        within_budget(BUDGET, broken)
    assert refused.value.code == RENDER_ERROR
    assert "IndexError: list index out of range" in refused.value.detail


def test_the_timer_is_disarmed_after_a_render() -> None:
    import signal

    render_within(BUDGET, "# fine")
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) in (signal.SIG_DFL, None)


def test_a_swallowing_except_exception_cannot_hide_the_budget() -> None:
    def greedy() -> None:
        while True:
            with contextlib.suppress(Exception):  # a parser's broad handler
                sum(range(10_000))

    spent = Spent()
    with pytest.raises(RenderRefused):
        within_budget(BUDGET, greedy)
    spent.check(cpu=BUDGET.cpu_seconds + SLACK)


def test_ordinary_output_is_unchanged_by_the_budget() -> None:
    document = "# Title\n\nSome *text* with `code`.\n\n```python\nprint(1)\n```\n"
    clear_memo()
    plain = render_markdown(document)
    clear_memo()
    assert render_within(BUDGET, document) == plain


# --- through the API, on both backends ---------------------------------------------------------


@pytest.fixture
def tight(monkeypatch, request):
    """Entries render under a 0.5 s budget on this test's container (built after this)."""
    monkeypatch.setenv("CMS_RENDER_BUDGET_SECONDS", str(BUDGET.cpu_seconds))
    api = request.getfixturevalue("api")
    api.collection("blog")
    return api


def test_a_runaway_entry_fails_once_and_the_published_version_stays(tight, container) -> None:
    api = tight
    base = "/v1/manage/content/blog"
    created = api.call("POST", base, {"front_matter": {"title": "Doc"}, "body": "Good *text*."})
    assert created.status_code == 201, created.body
    assert api.call("POST", f"{base}/doc/publish").status_code == 200
    served = api.json("GET", "/v1/content/blog/doc")["html"]

    clear_memo()
    spent = Spent()
    updated = api.call("PATCH", f"{base}/doc", {"body": HOSTILE["brackets"]})
    assert updated.status_code == 200, updated.body
    api.call("POST", f"{base}/doc/publish")
    container.process_events()
    spent.check(cpu=2 * (BUDGET.cpu_seconds + SLACK) + 1.0, wall=2 * WALL)  # draft, published

    render = api.json("GET", f"{base}/doc")["render"]
    assert render["status"] == "failed"
    assert render["error"].startswith("render-too-complex: ")
    assert "0.5 s" in render["error"]
    assert api.json("GET", "/v1/content/blog/doc")["html"] == served  # the last good one
    errors = api.json("GET", "/v1/manage/errors")["items"]
    assert any(e["error"].startswith("render-too-complex") for e in errors)
    assert api.json("GET", "/v1/manage/events/dead-letters")["items"] == []

    fixed = api.call("PATCH", f"{base}/doc", {"body": "Better *now*."})
    assert fixed.status_code == 200
    container.process_events()
    assert api.json("GET", f"{base}/doc")["render"]["status"] == "rendered"
    draft_key = "content/blog/doc.md"
    assert draft_key not in {e["key"] for e in api.json("GET", "/v1/manage/errors")["items"]}


def test_deep_nesting_fails_with_the_limit_named(tight, container) -> None:
    api = tight
    body = HOSTILE["list-500-deep"]
    created = api.call(
        "POST", "/v1/manage/content/blog", {"front_matter": {"title": "Deep"}, "body": body}
    )
    assert created.status_code == 201, created.body
    container.process_events()
    render = api.json("GET", "/v1/manage/content/blog/deep")["render"]
    assert render["status"] == "failed"
    assert "the limit is 32" in render["error"]


def test_the_budget_is_configurable(monkeypatch) -> None:
    from chalicelib.wiring import limits_from_env

    monkeypatch.setenv("CMS_RENDER_BUDGET_SECONDS", "0.75")
    monkeypatch.setenv("CMS_RENDER_MAX_DEPTH", "12")
    assert limits_from_env().render_budget == RenderBudget(cpu_seconds=0.75, max_depth=12)


def test_a_collections_render_counts_follow_its_entries(tight, container) -> None:
    """GET .../collections/{name}/renders: live drafts and published snapshots by render
    status, what `cms import` polls instead of reading every pending entry."""
    api = tight
    base, counts = "/v1/manage/content/blog", "/v1/manage/collections/blog/renders"
    none = {"pending": 0, "rendered": 0, "failed": 0}
    assert api.json("GET", counts) == {"collection": "blog", "draft": none, "published": none}

    for title, body in (("Good", "Good *text*."), ("Deep", HOSTILE["list-500-deep"])):
        created = api.call("POST", base, {"front_matter": {"title": title}, "body": body})
        assert created.status_code == 201, created.body
    assert api.call("POST", f"{base}/good/publish").status_code == 200
    api.json("POST", base, {"front_matter": {"title": "Gone"}, "body": "x"}, expect=201)
    api.json("DELETE", f"{base}/gone", expect=204)
    container.process_events()
    response = api.call("GET", counts)
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.body) == {
        "collection": "blog",
        "draft": {"pending": 0, "rendered": 1, "failed": 1},
        "published": {"pending": 0, "rendered": 1, "failed": 0},
    }

    assert problem(api.call("GET", "/v1/manage/collections/nope/renders"))["status"] == 404
    assert problem(api.call("GET", "/v1/manage/collections/Bad!/renders"))["status"] == 422
    assert problem(api.call("GET", counts, auth=False))["status"] == 401
