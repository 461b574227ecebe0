"""The Hugo (Goldmark) / GitHub Markdown dialect of the renderer: exact HTML per construct.

Shortcodes have their own tests (tests/test_shortcodes.py); the sanitizer's general
guarantees are in tests/test_rendering.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from chalicelib.domain.markdown_layout import normalize  # noqa: E402
from chalicelib.domain.rendering import render_markdown, sanitize_html  # noqa: E402


def html(body: str) -> str:
    return render_markdown(body).html


def code(inner: str) -> str:
    """A highlighted block whose code has no tokens Pygments marks (plain text)."""
    return f'<div class="highlight"><pre><span></span><code>{inner}\n</code></pre></div>'


ECHO = '<span class="nb">echo</span><span class="w"> </span>hi'


# --- code fences -----------------------------------------------------------------------------


def test_fence_in_an_ordered_list_item_indented_as_commonmark_does():
    body = "1. Step one:\n\n   ```bash\n   echo hi\n   ```\n\n2. Step two\n\nProse after.\n"
    assert html(body) == (
        f"<ol>\n<li>\n<p>Step one:</p>\n{code(ECHO)}\n</li>\n<li>\n<p>Step two</p>\n</li>\n"
        "</ol>\n<p>Prose after.</p>"
    )


def test_fence_in_a_bullet_list_item_indented_two_spaces():
    body = "- Step one:\n\n  ```bash\n  echo hi\n  ```\n- Step two\n\nProse after.\n"
    assert html(body) == (
        f"<ul>\n<li>\n<p>Step one:</p>\n{code(ECHO)}\n</li>\n<li>\n<p>Step two</p>\n</li>\n"
        "</ul>\n<p>Prose after.</p>"
    )


def test_fence_in_a_tight_list_item():
    body = "- Step one:\n  ```bash\n  echo hi\n  ```\n- Step two\n\nProse after.\n"
    assert html(body) == (
        f"<ul>\n<li>Step one:{code(ECHO)}\n</li>\n<li>Step two</li>\n</ul>\n<p>Prose after.</p>"
    )


def test_fence_in_a_nested_list_item_keeps_its_indentation_inside_the_code():
    body = "- a\n  - b\n\n    ```python\n    if x:\n        y()\n    ```\n\nAfter.\n"
    out = html(body)
    assert '<span class="k">if</span>' in out
    assert '\n    <span class="n">y</span>' in out  # the code's own indentation
    assert out.endswith("</ul>\n<p>After.</p>")
    assert out.count("<ul>") == 2


def test_fence_in_a_blockquote():
    body = "> Quote:\n>\n> ```\n> x = 1\n> ```\n>\n> after\n\nProse after.\n"
    assert html(body) == (
        f"<blockquote>\n<p>Quote:</p>\n{code('x = 1')}\n<p>after</p>\n</blockquote>\n"
        "<p>Prose after.</p>"
    )


def test_fence_with_hugo_attributes():
    body = '```toml {file="hugo.toml" linenos=false}\ntitle = "Docs"\n```\nProse after.\n'
    assert html(body) == (
        '<div class="highlight"><pre><span></span><code><span class="n">title</span>'
        '<span class="w"> </span><span class="o">=</span><span class="w"> </span>'
        '<span class="s2">"Docs"</span>\n</code></pre></div>\n<p>Prose after.</p>'
    )


@pytest.mark.parametrize(
    "opening", ["```go {hl_lines=[2,3]}", '```go {linenos=table,hl_lines=["2-3"],linenostart=9}']
)
def test_fence_hl_lines_in_hugo_syntax_are_highlighted(opening):
    out = html(f"{opening}\na\nb\nc\nd\n```\n")
    assert out == (
        '<div class="highlight"><pre><span></span><code><span class="nx">a</span>\n'
        '<span class="hll"><span class="nx">b</span>\n</span>'
        '<span class="hll"><span class="nx">c</span>\n</span>'
        '<span class="nx">d</span>\n</code></pre></div>'
    )


def test_fence_with_only_a_class_has_no_language():
    assert html("``` {.class}\ndef f(): pass\n```\n\nProse.\n") == (
        f"{code('def f(): pass')}\n<p>Prose.</p>"
    )


def test_tilde_fence_and_backticks_inside_it():
    assert html("~~~\na ``` b\n```\n~~~\nProse.\n") == (
        f"{code('a ``` b' + chr(10) + '```')}\n<p>Prose.</p>"
    )


def test_four_backtick_fence_shows_a_three_backtick_fence():
    out = html("````text\n```go\nx := 1\n```\n````\n\nProse after.\n")
    assert out == f"{code('```go' + chr(10) + 'x := 1' + chr(10) + '```')}\n<p>Prose after.</p>"


def test_unknown_language_is_plain_text_not_guessed():
    assert html("```no-such-language\ndef f(): pass\n```\n\nProse.\n") == (
        f"{code('def f(): pass')}\n<p>Prose.</p>"
    )


def test_a_longer_closing_fence_closes():
    assert html("```\nx\n`````\nProse.\n") == f"{code('x')}\n<p>Prose.</p>"


def test_a_fence_the_list_item_ends_before_it_closes_is_closed_there():
    out = html("- item\n\n  ```\n  code\nProse.\n")
    assert out == f"<ul>\n<li>\n<p>item</p>\n{code('code')}\n</li>\n</ul>\n<p>Prose.</p>"


@pytest.mark.parametrize(
    "fence",
    [
        "```\ncode\n```",
        "~~~\ncode\n~~~",
        "```go {hl_lines=[1]}\ncode\n```",
        '```toml {file="x.toml"}\ncode\n```',
        "````\n```\ncode\n```\n````",
        "- item\n\n  ```\n  code\n  ```",
        "1. item\n\n   ```\n   code\n   ```",
        "> ```\n> code\n> ```",
        "```unknown-lang\ncode\n```",
    ],
)
def test_prose_after_any_fence_is_a_paragraph(fence):
    body = f"{fence}\n\nProse *after* it.\n\n{fence}\nMore prose.\n"
    out = html(body)
    assert "<p>Prose <em>after</em> it.</p>" in out
    assert out.endswith("<p>More prose.</p>")
    assert out.count("<pre>") == 2


def test_many_fences_never_shift_pairing():
    body = "\n\n".join(f"Para {i}.\n\n```\ncode {i}\n```" for i in range(50))
    out = html(body)
    assert out.count("<pre>") == 50
    for i in range(50):
        assert f"<p>Para {i}.</p>" in out
        assert f"<code>code {i}\n</code>" in out


def test_indented_code_block_stays_code():
    assert html("Text:\n\n    ![x](not-an-image.png)\n\nAfter.\n") == (
        f"<p>Text:</p>\n{code('![x](not-an-image.png)')}\n<p>After.</p>"
    )


# --- lists, as CommonMark lays them out ------------------------------------------------------


def test_a_list_interrupts_a_paragraph():
    assert html("Text:\n- a\n- b\n") == "<p>Text:</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>"


def test_two_space_nested_lists():
    assert html("- a\n  - b\n    - c\n") == (
        "<ul>\n<li>a<ul>\n<li>b<ul>\n<li>c</li>\n</ul>\n</li>\n</ul>\n</li>\n</ul>"
    )


def test_paragraph_continuation_in_an_item():
    assert html("- a\n\n  more of a\n- b\n") == (
        "<ul>\n<li>\n<p>a</p>\n<p>more of a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ul>"
    )


def test_normalize_leaves_plain_text_and_top_level_fences_alone():
    lines = ["# Title", "", "Text", "```", "- not a list", "  text", "```", "    code"]
    assert normalize(lines) == lines


# --- attribute lists, definition lists, tables, footnotes -----------------------------------


def test_heading_attributes_set_the_id_in_the_html_and_the_toc():
    result = render_markdown("## Title {#custom-id .cls}\n\n### Sub {#sub}\n")
    assert result.html == '<h2 id="custom-id">Title</h2>\n<h3 id="sub">Sub</h3>'
    assert result.toc == [
        {
            "level": 2,
            "id": "custom-id",
            "title": "Title",
            "children": [{"level": 3, "id": "sub", "title": "Sub", "children": []}],
        }
    ]


@pytest.mark.parametrize(
    "heading",
    [
        "# x {#a<b>}",
        '# a {#"><svg/onload=alert(1)>}',
        '# t {id="a<b"}',
        '# t {id="x y"}',
        "# a {#a{{< x >}}}",
    ],
)
def test_a_custom_id_is_a_plain_name_and_the_same_in_the_toc(heading: str) -> None:
    """The toc copies heading ids as they are: an id from an attribute list that is not a
    name (letters, digits, '_', '-', ':', '.') is no attribute list, or is left out."""
    result = render_markdown(heading)
    [entry] = result.toc
    assert re.fullmatch(r"[\w:.-]+", entry["id"]), entry
    assert f'id="{entry["id"]}"' in result.html


def test_block_attributes_are_applied_then_sanitized_away():
    assert html('Paragraph.\n{class="foo" id="bar" onclick="x()"}\n') == "<p>Paragraph.</p>"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("Text\n{% endif %}\n", "<p>Text\n{% endif %}</p>"),  # Jekyll's Liquid
        ("{% raw %}\n{{ x }}\n{% endraw %}\n", "<p>{% raw %}\n{{ x }}\n{% endraw %}</p>"),
        ("Last line\n{placeholder}\n", "<p>Last line\n{placeholder}</p>"),
        ('{"a": 1}\n', '<p>{"a": 1}</p>'),
        ("# Heading {x}\n", '<h1 id="heading-x">Heading {x}</h1>'),
        ("| a |\n|---|\n| b {x} |\n", "<td>b {x}</td>"),
        ("*e*{x} tail\n", "<p><em>e</em>{x} tail</p>"),
        ("- item {not: a list}\n", "<li>item {not: a list}</li>"),
    ],
)
def test_text_in_braces_that_is_no_attribute_list_stays(markdown: str, expected: str) -> None:
    """As in Hugo (Goldmark): an attribute list is '#id', '.class' and 'name=value' items;
    other text in braces at the end of a block is text, not an attribute list to drop."""
    assert expected in html(markdown)


def test_goldmark_table_attributes_do_not_become_a_row():
    out = html("| a |\n|---|\n| 1 |\n{.table .striped}\n\nAfter.\n")
    assert out == (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n"
        "</tr>\n</tbody>\n</table>\n<p>After.</p>"
    )


def test_definition_list():
    assert html("Term\n: Def one\n\nTerm 2\n:   Def two\n") == (
        "<dl>\n<dt>Term</dt>\n<dd>Def one</dd>\n<dt>Term 2</dt>\n<dd>Def two</dd>\n</dl>"
    )


def test_table():
    assert html("| a | b |\n|:--|--:|\n| 1 | 2 |\n") == (
        '<table>\n<thead>\n<tr>\n<th align="left">a</th>\n<th align="right">b</th>\n</tr>\n'
        '</thead>\n<tbody>\n<tr>\n<td align="left">1</td>\n<td align="right">2</td>\n</tr>\n'
        "</tbody>\n</table>"
    )


def test_footnotes():
    assert html("Claim[^1].\n\n[^1]: Note.\n") == (
        '<p>Claim<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>.</p>\n'
        '<div class="footnote">\n<hr>\n<ol>\n<li id="fn:1">\n<p>Note.&nbsp;'
        '<a class="footnote-backref" href="#fnref:1" '
        'title="Jump back to footnote 1 in the text">\u21a9</a></p>\n</li>\n</ol>\n</div>'
    )


# --- GitHub alerts ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION"])
def test_github_alert(kind):
    lower = kind.lower()
    assert html(f"> [!{kind}]\n> Useful *information*.\n") == (
        f'<div class="markdown-alert markdown-alert-{lower}">\n'
        f'<p class="markdown-alert-title">{kind.capitalize()}</p>\n'
        "<p>Useful <em>information</em>.</p>\n</div>"
    )


def test_alert_marker_is_case_insensitive_and_may_stand_alone():
    assert html("> [!warning]\n>\n> Careful.\n") == (
        '<div class="markdown-alert markdown-alert-warning">\n'
        '<p class="markdown-alert-title">Warning</p>\n<p>Careful.</p>\n</div>'
    )


def test_alert_with_a_list_and_two_alerts_in_a_row():
    out = html("> [!NOTE]\n> Steps:\n> - a\n> - b\n\n> [!TIP]\n> Second.\n")
    assert out == (
        '<div class="markdown-alert markdown-alert-note">\n'
        '<p class="markdown-alert-title">Note</p>\n<p>Steps:</p>\n<ul>\n<li>a</li>\n'
        "<li>b</li>\n</ul>\n</div>\n"
        '<div class="markdown-alert markdown-alert-tip">\n'
        '<p class="markdown-alert-title">Tip</p>\n<p>Second.</p>\n</div>'
    )


def test_not_an_alert():
    assert html("> [!NOTE] on the same line\n") == (
        "<blockquote>\n<p>[!NOTE] on the same line</p>\n</blockquote>"
    )
    assert html("> [!UNKNOWN]\n> x\n") == "<blockquote>\n<p>[!UNKNOWN]\nx</p>\n</blockquote>"


def test_alert_title_is_not_the_excerpt():
    assert render_markdown("> [!NOTE]\n> The first words.\n").excerpt == "The first words."


# --- task lists, strikethrough, autolinks, typography ---------------------------------------


def test_task_list_renders_characters_not_inputs():
    assert html("- [ ] todo\n- [x] done\n- plain\n") == (
        '<ul class="task-list">\n'
        '<li class="task-list-item"><span class="task-list-checkbox">\u2610</span> todo</li>\n'
        '<li class="task-list-item"><span class="task-list-checkbox task-list-checked">'
        "\u2611</span> done</li>\n<li>plain</li>\n</ul>"
    )


def test_task_list_checkbox_is_not_a_word():
    assert render_markdown("- [ ] todo\n- [x] done\n").word_count == 2


def test_strikethrough():
    assert html("x ~~gone~~ y") == "<p>x <del>gone</del> y</p>"


def test_autolinks_like_github():
    assert html("See https://example.com/a?b=1, www.example.org and me@example.com.") == (
        '<p>See <a href="https://example.com/a?b=1">https://example.com/a?b=1</a>, '
        '<a href="http://www.example.org">www.example.org</a> and '
        '<a href="mailto:me@example.com">me@example.com</a>.</p>'
    )


def test_no_autolink_in_code_or_existing_links():
    assert html("`https://example.com` [x](https://example.com/y)") == (
        '<p><code>https://example.com</code> <a href="https://example.com/y">x</a></p>'
    )


def test_typographer_stays_off():
    assert html("\"quotes\" -- and ... 'single'") == ("<p>\"quotes\" -- and ... 'single'</p>")


# --- the sanitizer's additions ---------------------------------------------------------------


def test_relative_image_src_and_media_scheme_survive_unchanged():
    assert html("![d](diagram.png) ![m](media:01abc) ![s](../img/a%20b.png)") == (
        '<p><img alt="d" src="diagram.png"> <img alt="m" src="media:01abc"> '
        '<img alt="s" src="../img/a%20b.png"></p>'
    )


def test_new_classes_are_allowed_only_on_their_own_tags():
    raw = (
        '<p class="markdown-alert-title evil">t</p><div class="markdown-alert nope">d</div>'
        '<span class="task-list-checkbox cms-shortcode evil">s</span>'
        '<a class="cms-embed cms-embed-youtube other" href="/v">v</a>'
        '<p class="task-list">p</p><ul class="task-list"><li class="task-list-item">i</li></ul>'
    )
    assert sanitize_html(raw) == (
        '<p class="markdown-alert-title">t</p><div class="markdown-alert">d</div>'
        '<span class="task-list-checkbox cms-shortcode">s</span>'
        '<a class="cms-embed cms-embed-youtube" href="/v">v</a>'
        '<p>p</p><ul class="task-list"><li class="task-list-item">i</li></ul>'
    )


def test_data_attributes_only_the_two_and_only_on_span_and_div():
    raw = (
        '<span data-shortcode="a" data-args="{}" data-x="1">s</span>'
        '<div data-shortcode="b" data-args="[]" data-toggle="y">d</div>'
        '<a href="/x" data-shortcode="c">a</a><p data-args="{}">p</p>'
    )
    assert sanitize_html(raw) == (
        '<span data-shortcode="a" data-args="{}">s</span>'
        '<div data-shortcode="b" data-args="[]">d</div><a href="/x">a</a><p>p</p>'
    )


def test_no_input_element_ever():
    assert "<input" not in sanitize_html('<input type="checkbox" checked disabled>')
    assert "<input" not in html("- [x] <input type=checkbox checked> done\n")


def test_id_only_where_needed():
    out = html('<p id="x">p</p><div id="y">d</div>\n\nText {#z}\n\n## H {#h}\n')
    assert re.findall(r'id="([^"]*)"', out) == ["h"]


# --- cost ------------------------------------------------------------------------------------


def test_the_dialect_modules_are_cheap_to_import():
    code = (
        "import sys\n"
        "import chalicelib.domain.rendering, chalicelib.domain.shortcodes\n"
        "import chalicelib.domain.shortcode_html, chalicelib.domain.markdown_layout\n"
        "print(','.join(sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in {'markdown', 'pymdownx', 'pygments', 'nh3'})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == ""


def test_alert_kinds_agree_with_the_sanitizer():
    from chalicelib.domain import alerts, rendering

    assert rendering.ALERT_KINDS == alerts.KINDS


_FRAGMENTS = [
    "{{< a >}}", "{{< /a >}}", "{{% b %}}", "{{% /b %}}", "{{</* c */>}}", "```", "````", "~~~",
    "```go {hl_lines=[1]}", "- ", "1. ", "  ", "    ", "> ", "[!NOTE]", "text", "*em* ", "_u_",
    "**st** ", "`code`", "|a|b|", "|---|---|", "\n", "\n", "\n\n", "{{<", ">}}", "[x](/y)",
    "![i](p.png)", "[r]", "[r]: /u", "&amp;", "\\*", "<b>", "</b>", "<https://x.y>", "<a@b.co>",
    "www.x.com", "a@b.co", "https://e.org/p", "~~del~~", "  \n", "[^1]", "[^1]: n", "Term\n: d",
    "## H {#id}", "- [ ] t", "<div>", "</div>", "{{< highlight go >}}", "{{< /highlight >}}",
]  # fmt: skip


def test_pruning_inline_patterns_never_changes_the_html():
    """The inline treeprocessor gets only the patterns whose trigger is in the document: the
    HTML must be exactly what all the patterns give, whatever the document."""
    import random

    from chalicelib.domain import markdown_dialect

    pruned = markdown_dialect.DialectMarkdown()
    full = markdown_dialect.DialectMarkdown()
    full.preprocessors["cms_inline_patterns"].table = [
        (pattern, None) for pattern in full.inlinePatterns
    ]
    rng = random.Random(7)
    for _ in range(400):
        body = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 40)))
        pruned.reset()
        full.reset()
        assert pruned.convert_with(body, None) == full.convert_with(body, None), body


def test_a_heading_full_of_braces_is_text_and_quick() -> None:
    import time

    from chalicelib.domain.rendering import clear_memo, render_markdown

    clear_memo()
    started = time.perf_counter()
    html = render_markdown("# h {" * 8000).html  # attr_list alone would take seconds
    assert time.perf_counter() - started < 1.0
    assert html.startswith("<h1") and html.count("{") == 8000
    assert render_markdown("## Title {#custom .x}").html == '<h2 id="custom">Title</h2>'


# --- Python-Markdown's placeholders never show (an audit's minimal cases) --------------------


def _no_placeholder(rendered: object) -> str:
    text = repr(rendered)
    for leftover in ("wzxhzdk", "klzzwxh", "qq3936677670287331zz", "\\x02", "\\x03"):
        assert leftover not in text, (leftover, text)
    return text


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ('[a]("(xyz', '<p><a href="&quot;(xyz">a</a></p>'),  # the link ended at index -1
        ('[a]("(x `code`', '<p><a href="&quot;(x code">a</a></p>'),
        ('[]("({{< s >}}', '<p><a href="&quot;("></a></p>'),
        ('![a]("(x {{< ref "p" >}}', '<p><img alt="a" src="&quot;(x /p/"></p>'),
    ],
)
def test_a_link_whose_title_never_ends_takes_the_whole_rest_as_its_url(
    markdown: str, html: str
) -> None:
    rendered = render_markdown(markdown)
    _no_placeholder(rendered)
    assert rendered.html == html


def test_unclosed_link_titles_stay_linear() -> None:
    """Each such link takes the rest of its text: the next '[' is not scanned to the end."""
    import time

    started = time.process_time()
    render_markdown('[a]("(x ' * 4000)
    assert time.process_time() - started < 0.5


@pytest.mark.parametrize(
    ("markdown", "toc_id", "title"),
    [
        ("# <a@b.c{{< x >}}>", "abc", "a@b.c"),  # a placeholder inside an automail
        ("# <a{{< x >}}@b.c>", "abc", "a@b.c"),
        ("# *a**b*`c`", "ab", "*ab"),  # emphasis took a code span placeholder's first byte
        ("# <http://a.b/{{< x >}}>", "httpab", "http://a.b/"),
    ],
)
def test_headings_whose_placeholders_were_broken_give_clean_ids_and_titles(
    markdown: str, toc_id: str, title: str
) -> None:
    rendered = render_markdown(markdown)
    _no_placeholder(rendered)
    assert rendered.toc == [{"level": 1, "id": toc_id, "title": title, "children": []}]
    assert f'<h1 id="{toc_id}">' in rendered.html


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ('[t](u "{{< x >}}")', '<p><a href="u" title="">t</a></p>'),
        ("[t]({{< x >}})", '<p><a href="">t</a></p>'),
        ("![{{< x >}}](u)", '<p><img alt="" src="u"></p>'),
        ("[t](u){title={{< x >}}}", '<p><a href="u" title="">t</a></p>'),
        ('[t][r]\n\n[r]: u "{{< x >}}"', '<p><a href="u" title="">t</a></p>'),
        ('<a href="{{% x %}}{{% /x %}}">t</a>', '<p><a href="">t</a></p>'),
        ('[t](u "a {{% x %}}**b**{{% /x %}}")', '<p><a href="u" title="a **b**">t</a></p>'),
        ('<span title="`c`">t</span>', '<p><span title="&lt;code&gt;c&lt;/code&gt;">t</span></p>'),
        (
            "<http://a.b/{{% x %}}Z{{% /x %}}>",
            '<p><a href="http://a.b/Z">http://a.b/<span class="cms-shortcode" '
            'data-shortcode="x" data-args="{}">Z</span></a></p>',
        ),
    ],
)
def test_markup_put_back_inside_an_attribute_value_is_its_text(markdown: str, html: str) -> None:
    """Raw HTML and shortcodes inside a title, URL or alt: their text, never markup that ends
    the value and spills ``">`` into the page (and the excerpt)."""
    rendered = render_markdown(markdown)
    _no_placeholder(rendered)
    assert rendered.html == html
    assert '">' not in rendered.excerpt


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("{{< highlight go >}}a\n```\nx\n```\n{{< /highlight >}}", "```"),
        ("{{< highlight text >}}a\n```\nx\n```\n{{< /highlight >}}", "a\n```\nx\n```"),
        ('{{< figure src="x" caption="\n```\ny\n```\n" >}}', "```\ny\n```"),
        ('{{< ref "\n```\n```\n" >}}', "%60%60%60"),
        ("{{< x\n```\n```\n>}}", "```"),
    ],
)
def test_a_fence_inside_a_shortcode_is_the_text_it_was(markdown: str, shown: str) -> None:
    """Superfences takes fences before shortcodes are read; inside a shortcode's arguments or
    a ``highlight`` written inline, the fence is given back as its text."""
    rendered = render_markdown(markdown)
    _no_placeholder(rendered)
    assert shown in rendered.html


def test_a_footnote_whose_placeholder_emphasis_took_shows_no_key() -> None:
    rendered = render_markdown("a[^1]\n\n[^1]: *a**[^fn]*")
    _no_placeholder(rendered)
    assert '<a class="footnote-backref"' in rendered.html
