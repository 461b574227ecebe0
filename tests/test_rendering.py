"""Tests for chalicelib.domain.rendering: Markdown -> sanitized HTML, toc, excerpt, stats."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import textwrap
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # no conftest / pythonpath setting yet
    sys.path.insert(0, str(REPO_ROOT))

from chalicelib.domain.rendering import (  # noqa: E402
    RENDERER_VERSION,
    Rendered,
    render_markdown,
    sanitize_html,
)


class _Collector(HTMLParser):
    """Collects (tag, attrs) for every start tag, attribute values unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag


def parse(fragment: str) -> list[tuple[str, dict[str, str]]]:
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector.tags


def by_tag(fragment: str, tag: str) -> list[dict[str, str]]:
    return [attrs for name, attrs in parse(fragment) if name == tag]


# --- basics --------------------------------------------------------------------------------


def test_version_and_type():
    assert RENDERER_VERSION == "5"
    result = render_markdown("Hello *world*")
    assert isinstance(result, Rendered)
    assert result.html == "<p>Hello <em>world</em></p>"


def test_empty_body():
    for body in ("", "   \n\n  "):
        result = render_markdown(body)
        assert result == Rendered(html="", toc=[], excerpt="", word_count=0, reading_time_minutes=0)
    assert render_markdown("", summary="  A summary.  ").excerpt == "A summary."


def test_table():
    body = "| Name | Qty |\n|:-----|----:|\n| apple | 3 |\n| pear | 10 |\n"
    out = render_markdown(body).html
    assert "<table>" in out and "</table>" in out
    assert "<thead>" in out and "<tbody>" in out
    assert '<th align="left">Name</th>' in out
    assert '<td align="right">10</td>' in out
    assert "style=" not in out


def test_fenced_code_is_highlighted_with_classes():
    body = '```python\ndef greet(name):\n    return "hi " + name\n```\n'
    out = render_markdown(body).html
    assert '<div class="highlight">' in out
    assert "<pre>" in out and "<code>" in out
    assert '<span class="k">def</span>' in out
    assert '<span class="nf">greet</span>' in out
    assert '<span class="s2">' in out
    assert "style=" not in out


def test_fenced_code_without_language_is_not_guessed():
    out = render_markdown("```\ndef f(): pass\n```\n").html
    assert '<div class="highlight">' in out
    assert '<span class="k">' not in out
    assert "def f(): pass" in out


def test_code_block_content_is_escaped():
    out = render_markdown("```html\n<script>alert(1)</script>\n```\n").html
    assert "<script" not in out.lower()
    assert "&lt;" in out


def test_sane_lists_start_number_kept():
    out = render_markdown("3. three\n4. four\n").html
    assert '<ol start="3">' in out


def test_no_smarty():
    out = render_markdown('He said "hi" -- ok...').html
    assert "\u201c" not in out and "&ldquo;" not in out
    assert "--" in out


# --- footnotes -----------------------------------------------------------------------------


def test_footnotes_link_both_ways_and_survive_sanitizing():
    out = render_markdown("Claim[^a] and another[^b].\n\n[^a]: First.\n[^b]: Second.\n").html
    refs = [a for a in by_tag(out, "a") if a.get("class") == "footnote-ref"]
    backrefs = [a for a in by_tag(out, "a") if a.get("class") == "footnote-backref"]
    assert len(refs) == 2 and len(backrefs) == 2
    sup_ids = {attrs["id"] for attrs in by_tag(out, "sup")}
    li_ids = {attrs["id"] for attrs in by_tag(out, "li") if "id" in attrs}
    for ref in refs:
        assert ref["href"].startswith("#")
        assert ref["href"][1:] in li_ids
    for back in backrefs:
        assert back["href"].startswith("#")
        assert back["href"][1:] in sup_ids
    assert '<div class="footnote">' in out
    assert "rel=" not in out


def test_footnote_markup_passes_sanitize_html_unchanged():
    import markdown

    raw = markdown.markdown("x[^1]\n\n[^1]: note\n", extensions=["footnotes"])
    clean = sanitize_html(raw)
    for marker in ('id="fnref:1"', 'id="fn:1"', 'href="#fn:1"', 'href="#fnref:1"'):
        assert marker in raw and marker in clean


# --- toc -----------------------------------------------------------------------------------


def test_toc_nested_structure_and_heading_ids():
    body = textwrap.dedent(
        """\
        # Intro

        ## Setup & Install

        ### Linux

        ## Usage

        # Appendix
        """
    )
    result = render_markdown(body)
    assert result.toc == [
        {
            "level": 1,
            "id": "intro",
            "title": "Intro",
            "children": [
                {
                    "level": 2,
                    "id": "setup-install",
                    "title": "Setup & Install",
                    "children": [
                        {"level": 3, "id": "linux", "title": "Linux", "children": []},
                    ],
                },
                {"level": 2, "id": "usage", "title": "Usage", "children": []},
            ],
        },
        {"level": 1, "id": "appendix", "title": "Appendix", "children": []},
    ]
    out = result.html
    assert '<h1 id="intro">Intro</h1>' in out
    assert '<h2 id="setup-install">Setup &amp; Install</h2>' in out
    assert '<h3 id="linux">Linux</h3>' in out


def test_toc_title_is_unescaped_plain_text():
    result = render_markdown("## Use `a < b` & *more*\n")
    assert result.toc[0]["title"] == "Use a < b & more"


def test_duplicate_headings_get_unique_ids():
    result = render_markdown("## Notes\n\n## Notes\n")
    assert [t["id"] for t in result.toc] == ["notes", "notes_1"]


def test_unicode_headings_produce_ascii_ids():
    result = render_markdown("# Crème brûlée à la française\n\n## Ωmega straße\n\n## 日本語\n")
    ids = [result.toc[0]["id"], *(child["id"] for child in result.toc[0]["children"])]
    assert ids[0] == "creme-brulee-a-la-francaise"
    for heading_id in ids:
        assert heading_id and heading_id.isascii()
        assert f'id="{heading_id}"' in result.html
    assert result.toc[0]["title"] == "Crème brûlée à la française"


def test_toc_anchor_links_survive():
    out = render_markdown("## Target\n\nSee [the target](#target) or [page](/docs/x?a=1).\n").html
    hrefs = [a["href"] for a in by_tag(out, "a")]
    assert hrefs == ["#target", "/docs/x?a=1"]


def test_toc_marker_is_not_expanded():
    out = render_markdown("[TOC]\n\n## A\n").html
    assert "[TOC]" in out


# --- excerpt, word count, reading time -----------------------------------------------------


def test_summary_wins():
    result = render_markdown("First paragraph.\n", summary="  Editor summary.  ")
    assert result.excerpt == "Editor summary."


def test_blank_summary_falls_back_to_body():
    assert render_markdown("First paragraph.\n", summary="   ").excerpt == "First paragraph."


def test_excerpt_skips_headings_and_code_and_strips_markup():
    body = "# Title\n\n```\ncode here\n```\n\nThe *first* [para](/x)[^1].\n\n[^1]: note\n"
    assert render_markdown(body).excerpt == "The first para."


def test_excerpt_joins_short_paragraphs():
    assert render_markdown("One.\n\nTwo.\n").excerpt == "One. Two."


def test_excerpt_cut_at_word_boundary():
    words = [f"word{i:03d}" for i in range(60)]  # 7 chars each
    result = render_markdown(" ".join(words) + "\n")
    excerpt = result.excerpt
    assert excerpt.endswith("\u2026")
    stem = excerpt[:-1]
    assert len(stem) <= 200
    assert len(stem) > 150
    # Cut at a word boundary: every word in the excerpt is a complete word.
    assert stem.split() == words[: len(stem.split())]


def test_excerpt_not_cut_when_short():
    assert render_markdown("Short and sweet.\n").excerpt == "Short and sweet."


def test_word_count_and_reading_time():
    result = render_markdown("one two three\n")
    assert result.word_count == 3
    assert result.reading_time_minutes == 1

    result = render_markdown(" ".join(["w"] * 230))
    assert (result.word_count, result.reading_time_minutes) == (230, 1)
    result = render_markdown(" ".join(["w"] * 231))
    assert (result.word_count, result.reading_time_minutes) == (231, 2)


def test_word_count_includes_code_tables_footnotes_but_not_punctuation():
    body = (
        "# Head word\n\nAlpha beta \u2014 gamma.[^1]\n\n"
        "```\nx = 1\n```\n\n| a | b |\n|---|---|\n| c | d |\n\n[^1]: Note text.\n"
    )
    # Head word (2) + Alpha beta gamma.1 (3; the footnote ref joins "gamma.") + x, 1 (2)
    # + a b c d (4) + Note text (2); "—", "=", "↩" are not words.
    assert render_markdown(body).word_count == 13


# --- sanitizing ----------------------------------------------------------------------------

MARKDOWN_XSS_PAYLOADS = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click]( javascript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click][evil]\n\n[evil]: javascript:alert(1)",
    "![img](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    # STX/ETX by character reference: the sanitizer decodes them, and they were cut out of
    # its output after it had passed the URL as relative
    "[x](java&#2;script:alert(1))",
    "[x](java&#x3;script:alert(1))",
    "![i](java&#2;script:alert(1))",
]

HTML_XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" ONERROR="alert(1)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script&#x3A;alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:text/html,<script>alert(1)</script>">',
    '<img src="/ok.png" srcset="/ok.png 1x, javascript:alert(1) 2x">',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<form action="javascript:alert(1)"><input type=submit formaction="javascript:alert(1)">'
    "</form>",
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<a href="vb&#3;script:msgbox(1)">x</a>',
    '<img src="java&#2;script:alert(1)">',
    '<a href="da&#2;ta:text/html,<script>alert(1)</script>">x</a>',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<!--<script>alert(1)</script>-->",
    '<a href="#" onclick="alert(1)" onmouseover="alert(1)">x</a>',
    '<div class="fixed inset-0 z-50">overlay</div>',
    '<a href="/x" target="_blank" rel="opener" name="location">x</a>',
]

FORBIDDEN_SUBSTRINGS = [
    "<script",
    "onerror",
    "onload",
    "onclick",
    "onmouseover",
    "ontoggle",
    "javascript:",
    "vbscript:",
    "data:text",
    "<iframe",
    "srcdoc",
    "<style",
    "style=",
    "<svg",
    "<math",
    "<form",
    "<input",
    "<object",
    "<embed",
    "<base",
    "<meta",
    "<link",
    "<body",
    "<!--",
    "formaction",
]

ALLOWED_SCHEMES = {"http", "https", "mailto"}


def _scheme(url: str) -> str | None:
    """The scheme a browser would see, or None for a relative URL."""
    url = "".join(ch for ch in url if ch not in "\t\n\r").strip("".join(map(chr, range(0x21))))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return match.group(1).lower() if match else None


def _assert_safe(out: str) -> None:
    lowered = out.lower()
    for needle in FORBIDDEN_SUBSTRINGS:
        assert needle not in lowered, f"{needle!r} survived in {out!r}"
    for tag, attrs in parse(out):
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in {"style", "srcdoc", "formaction", "action"}, (tag, name)
            if name in {"href", "src"}:
                assert _scheme(value) in ALLOWED_SCHEMES | {None}, (tag, name, value)
            if name == "srcset":
                for candidate in value.split(","):
                    url = candidate.split()[0]
                    assert _scheme(url) in ALLOWED_SCHEMES | {None}, (tag, name, value)
            if name == "class":
                assert (
                    set(value.split())
                    <= {
                        "highlight",
                        "footnote",
                        "footnote-ref",
                        "footnote-backref",
                    }
                    or tag == "span"
                ), (tag, value)
            assert name not in {"target", "name", "rel"}, (tag, name)
            assert "javascript" not in html.unescape(value).lower(), (tag, name, value)


@pytest.mark.parametrize("payload", MARKDOWN_XSS_PAYLOADS + HTML_XSS_PAYLOADS)
def test_xss_payloads_are_neutralized_in_markdown(payload):
    _assert_safe(render_markdown(payload).html)
    # Also as a block of its own between paragraphs, and inline in prose.
    _assert_safe(render_markdown(f"Before.\n\n{payload}\n\nAfter.").html)
    if "\n" not in payload:
        _assert_safe(render_markdown(f"Some text {payload} more text.").html)


@pytest.mark.parametrize("payload", HTML_XSS_PAYLOADS)
def test_xss_payloads_are_neutralized_by_sanitize_html(payload):
    _assert_safe(sanitize_html(payload))


def test_sanitizer_keeps_allowed_content():
    fragment = (
        '<p><a href="https://example.com/" title="t">ext</a> <a href="/rel">rel</a> '
        '<a href="#frag">frag</a> <a href="mailto:a@example.com">mail</a> '
        '<a href="page.html">page</a></p>'
        '<img src="/m/1.webp" alt="a" width="10" height="5" loading="lazy" decoding="async" '
        'srcset="/m/1.webp 1x, https://cdn.example/2.webp 2x" sizes="100vw">'
        "<details><summary>More</summary><p><kbd>Ctrl</kbd> <mark>m</mark></p></details>"
        '<figure><img src="a.png" alt=""><figcaption>Cap</figcaption></figure>'
        '<abbr title="HyperText">HTML</abbr><del>x</del><s>y</s><sup>2</sup><sub>3</sub>'
        '<table><tr><td colspan="2" rowspan="1" align="center">c</td></tr></table>'
    )
    out = sanitize_html(fragment)
    hrefs = [a["href"] for a in by_tag(out, "a")]
    assert hrefs == [
        "https://example.com/",
        "/rel",
        "#frag",
        "mailto:a@example.com",
        "page.html",
    ]
    img = by_tag(out, "img")[0]
    assert img == {
        "src": "/m/1.webp",
        "alt": "a",
        "width": "10",
        "height": "5",
        "loading": "lazy",
        "decoding": "async",
        "srcset": "/m/1.webp 1x, https://cdn.example/2.webp 2x",
        "sizes": "100vw",
    }
    for snippet in (
        "<summary>More</summary>",
        "<kbd>Ctrl</kbd>",
        "<mark>m</mark>",
        "<figcaption>Cap</figcaption>",
        '<abbr title="HyperText">HTML</abbr>',
        "<del>x</del>",
        "<s>y</s>",
        "<sup>2</sup>",
        "<sub>3</sub>",
        '<td colspan="2" rowspan="1" align="center">c</td>',
    ):
        assert snippet in out
    assert "rel=" not in out


def test_sanitizer_drops_script_content_and_unknown_tags_keep_text():
    assert sanitize_html("<p>a<script>evil()</script>b</p>") == "<p>ab</p>"
    assert sanitize_html("<blink>text</blink>") == "text"
    assert sanitize_html("") == ""


def test_raw_html_passes_through_markdown_then_is_sanitized():
    out = render_markdown('<div class="note" onclick="x()">\n<p>Hi <b>there</b></p>\n</div>\n').html
    assert out == "<div>\n<p>Hi <b>there</b></p>\n</div>"


# --- lazy imports, thread safety -----------------------------------------------------------


def test_import_does_not_load_heavy_modules():
    code = (
        "import sys\n"
        "import chalicelib.domain.rendering\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in {'markdown', 'nh3', 'pygments'})\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == ""


def test_reused_instances_do_not_leak_state_between_calls():
    first = render_markdown("# One\n\nx[^1]\n\n[^1]: a\n")
    second = render_markdown("## Two\n")
    assert second.toc == [{"level": 2, "id": "two", "title": "Two", "children": []}]
    assert "footnote" not in second.html
    assert render_markdown("# One\n\nx[^1]\n\n[^1]: a\n") == first


def test_thread_safe_rendering():
    bodies = [f"# Title {i}\n\nParagraph {i}[^n].\n\n[^n]: note {i}\n" for i in range(8)]
    expected = [render_markdown(body) for body in bodies]
    errors: list[str] = []

    def worker(index: int) -> None:
        for _ in range(25):
            got = render_markdown(bodies[index])
            if got != expected[index]:
                errors.append(f"mismatch in thread {index}")
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- the memo of recent renderings -----------------------------------------------------------


def test_the_same_source_is_rendered_once_and_callers_get_their_own_toc(monkeypatch):
    from chalicelib.domain import rendering

    body = "# Memo test\n\nA paragraph about memoized rendering, unique to this test.\n"
    first = render_markdown(body)
    first.toc[0]["title"] = "changed by the first caller"
    first = render_markdown(body)
    assert first.toc[0]["title"] == "Memo test"
    calls = []
    monkeypatch.setattr(rendering, "_markdown", lambda: calls.append(1))  # a render would fail
    second = render_markdown(body)
    assert calls == []
    assert second == first
    second.toc[0]["title"] = "changed by a caller"
    assert render_markdown(body).toc[0]["title"] == "Memo test"


def test_the_memo_keys_on_body_and_summary():
    body = "Body text for the memo key test, long enough to be an excerpt.\n"
    assert render_markdown(body, summary="One").excerpt == "One"
    assert render_markdown(body, summary="Two").excerpt == "Two"
    assert render_markdown(body).excerpt.startswith("Body text for the memo key test")
    assert render_markdown(body + "More.\n").html != render_markdown(body).html


def test_the_sized_lru_keeps_within_its_budget_and_refuses_big_items():
    from chalicelib.domain.sized_lru import SizedLru

    memo: SizedLru[bytes, Rendered] = SizedLru(40_000, lambda r: len(r.html) + 512, max_item=10_000)
    for n in range(10):
        memo.put(bytes([n]), Rendered("x" * 9_000, [], "", 1, 1))
    assert memo.get(bytes([9])) is not None and memo.get(bytes([0])) is None
    assert memo.used <= 40_000
    memo.put(b"big", Rendered("x" * 20_000, [], "", 1, 1))  # over max_item: not kept
    assert memo.get(b"big") is None
    memo.clear()
    assert memo.get(bytes([9])) is None and memo.used == 0


def test_a_render_that_fails_leaves_the_next_one_whole() -> None:
    with pytest.raises(RecursionError):
        render_markdown("T\n: d\n" * 500)  # definition lists recurse per item
    assert render_markdown("Plain *text*.").html == "<p>Plain <em>text</em>.</p>"
