"""Hugo shortcodes: the scanner (chalicelib/domain/shortcodes.py), their HTML
(shortcode_html.py) and how the renderer places them (markdown_dialect.py)."""

from __future__ import annotations

import html as html_lib
import json
import re
import sys
import textwrap
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from chalicelib.domain import rendering  # noqa: E402
from chalicelib.domain.rendering import clear_memo, render_markdown  # noqa: E402
from chalicelib.domain.shortcode_html import hl_lines, permalink  # noqa: E402
from chalicelib.domain.shortcodes import (  # noqa: E402
    Shortcode,
    pair,
    scan,
    substitute,
    unescape_comments,
)

FRONT_MATTER = {
    "version": "1.2",
    "Author": {"Name": "Ann <admin>"},
    "tags": ["a", "b"],
    "draft": False,
    "count": 3,
}


def html(body: str, front_matter: dict | None = None) -> str:
    return render_markdown(body, front_matter=front_matter).html


def inert_elements(fragment: str) -> list[tuple[str, str, dict]]:
    """(tag, data-shortcode, parsed data-args) of each inert element, attributes unescaped."""
    found: list[tuple[str, str, dict]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            values = dict(attrs)
            if values.get("class") == "cms-shortcode":
                found.append((tag, values["data-shortcode"], json.loads(values["data-args"])))

    Parser().feed(fragment)
    return found


def outside_code(fragment: str) -> str:
    return re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", fragment, flags=re.DOTALL)


# --- the scanner ----------------------------------------------------------------------------


def test_scan_forms_and_arguments():
    text = (
        'a {{< figure src="x.png" alt="say \\"hi\\"" >}} b {{% note %}}in{{% /note %}} '
        "{{< badge />}} {{<x>}} {{< u k=`two\nlines` v=http://a.b/?c=d 0.1 >}}"
    )
    tags = scan(text)
    assert [(t.name, t.delim, t.closing, t.self_closing) for t in tags] == [
        ("figure", "<", False, False),
        ("note", "%", False, False),
        ("note", "%", True, False),
        ("badge", "<", False, True),
        ("x", "<", False, False),
        ("u", "<", False, False),
    ]
    assert tags[0].args == {"src": "x.png", "alt": 'say "hi"'}
    assert tags[5].args == {"k": "two\nlines", "v": "http://a.b/?c=d", "0": "0.1"}
    assert text[tags[0].start : tags[0].end] == tags[0].literal


def test_scan_multi_line_tag():
    (tag,) = scan('{{< figure\n  src="a.png"\n  alt="A"\n>}}')
    assert (tag.name, tag.args) == ("figure", {"src": "a.png", "alt": "A"})


def test_scan_comment_form():
    (tag,) = scan('x {{</* figure src="a" */>}} y')
    assert tag.comment and tag.literal == '{{< figure src="a" >}}'
    (tag,) = scan("{{%/* note */%}}")
    assert tag.literal == "{{% note %}}"
    assert unescape_comments("{{</* a */>}} and {{%/* /b */%}}") == "{{< a >}} and {{% /b %}}"


@pytest.mark.parametrize(
    "text",
    [
        "{{<",
        "{{< unclosed",
        '{{< x "unclosed quote >}}',
        "{{< >}}",
        "{{</ >}}",
        "{{< /x a >}}",
        "{{</* never closed",
        "{{< a {{< b >}}",
        ">}} {{",
    ],
)
def test_scan_leaves_what_is_not_a_tag(text):
    assert [t.name for t in scan(text)] in ([], ["b"])


def test_pairing_is_by_name_and_nearest_open():
    tags = scan("{{< a >}}{{< b >}}{{< a >}}x{{< /a >}}{{< /a >}}{{< /c >}}{{< figure >}}")
    assert pair(tags, frozenset({"figure"})) == {2: 3, 0: 4}


def test_substitute_is_linear_in_the_number_of_tags():
    class Handler:
        def stash(self, html: str, literal: str) -> str:
            return "#"

        def html(self, tag: Shortcode, closer: Shortcode | None, alone: bool) -> tuple[str, str]:
            return "", ""

        def is_block(self, html: str) -> bool:
            return False

        def is_code(self, tag: Shortcode) -> bool:
            return False

        def code(self, tag: Shortcode, inner: str) -> str:
            return ""

        def is_raw(self, tag: Shortcode) -> bool:
            return tag.delim == "<"

    for text in (
        "{{< a >}}" * 20_000,  # one long line
        "{{% a %}}\n" * 10_000 + "{{% /a %}}\n" * 10_000,  # deeply nested
        "{{< a >}}" * 10_000 + "{{< /a >}}" * 10_000,  # nested raw regions
    ):
        start = time.perf_counter()
        tags = scan(text)
        out = substitute(text, tags, pair(tags, frozenset()), Handler())
        assert time.perf_counter() - start < 2.0  # ~0.1 s; quadratic would take minutes
        assert "{{" not in out


# --- pathological input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{<" * 50_000,
        "{{< x " * 50_000,
        '{{< x "a ' * 50_000,
        "{{</* x " * 50_000,
        "{{< x " + "word " * 100_000,
    ],
    ids=["openers", "unclosed tags", "unclosed quotes", "unclosed comments", "long"],
)
def test_pathological_input_is_bounded_in_time(text):
    start = time.perf_counter()
    tags = scan(text)
    pair(tags, frozenset())
    assert time.perf_counter() - start < 1.0  # the shortcode pass: ~0.05 s, linear
    start = time.perf_counter()
    clear_memo()
    render_markdown(text)  # whole render: no crash, no blow-up
    assert time.perf_counter() - start < 10


def test_ten_thousand_shortcodes_in_one_document():
    body = "\n".join(f'Line {i} {{{{< tag n="{i}" >}}}}.' for i in range(10_000))
    out = html(body)
    assert len(inert_elements(out)) == 10_000
    assert "{{" not in out


# --- where shortcodes are and are not read ---------------------------------------------------


def test_shortcodes_in_list_items_blockquotes_and_tables():
    body = (
        "- item {{< a >}}\n\n> quote {{< b >}}\n\n| c | d |\n|---|---|\n"
        "| {{< c >}} | `{{< d >}}` |\n\n1. step\n\n   {{< e >}}\n"
    )
    out = html(body)
    assert [name for _, name, _ in inert_elements(out)] == ["a", "b", "c", "e"]
    assert "<code>{{&lt; d &gt;}}</code>" in out
    assert "{{" not in outside_code(out)


def test_shortcodes_in_code_stay_code_and_comment_forms_show_the_shortcode():
    body = textwrap.dedent(
        """\
        Use `{{</* figure src="a.png" */>}}` or `{{< figure src="b.png" >}}`, not {{</* x */>}}.

        ```go-html-template
        {{</* highlight go */>}}
        {{< figure src="c.png" >}}
        ```

            {{</* indented */>}} {{< also-code >}}
        """
    )
    assert html(body) == (
        '<p>Use <code>{{&lt; figure src="a.png" &gt;}}</code> or '
        '<code>{{&lt; figure src="b.png" &gt;}}</code>, not {{&lt; x &gt;}}.</p>\n'
        '<div class="highlight"><pre><span></span><code>{{&lt; highlight go &gt;}}\n'
        '{{&lt; figure src="c.png" &gt;}}\n</code></pre></div>\n'
        '<div class="highlight"><pre><span></span><code>{{&lt; indented &gt;}} '
        "{{&lt; also-code &gt;}}\n</code></pre></div>"
    )


def test_a_shortcode_opener_inside_inline_code():
    assert html("The `{{<` delimiter and `>}}`.") == (
        "<p>The <code>{{&lt;</code> delimiter and <code>&gt;}}</code>.</p>"
    )


# --- the built-in shortcodes -----------------------------------------------------------------


def test_figure_with_every_argument():
    body = (
        '{{< figure src="images/a.png" alt="A" caption="Cap" title="T" link="/big/" '
        'width="300" height="x" attr="Me" attrlink="https://me.example" class="wide" >}}'
    )
    assert html(body) == (
        '<figure><a href="/big/"><img src="images/a.png" alt="A" width="300"></a>'
        '<figcaption><h4>T</h4>Cap <a href="https://me.example">Me</a></figcaption></figure>'
    )


def test_figure_keeps_a_relative_src_as_written():
    assert html('{{< figure src="diagram.png" alt="D" >}}') == (
        '<figure><img src="diagram.png" alt="D"></figure>'
    )
    assert html('{{< figure src="../x/y.png" caption="C" >}}') == (
        '<figure><img src="../x/y.png" alt="C"><figcaption>C</figcaption></figure>'
    )


def test_highlight_shortcode_on_its_own_lines_and_inline():
    block = '{{< highlight go "linenos=table,hl_lines=2" >}}\na := 1\nb := 2\n{{< /highlight >}}'
    assert html(block) == (
        '<div class="highlight"><pre><span></span><code><span class="nx">a</span>'
        '<span class="w"> </span><span class="o">:=</span><span class="w"> </span>'
        '<span class="mi">1</span>\n<span class="hll"><span class="nx">b</span>'
        '<span class="w"> </span><span class="o">:=</span><span class="w"> </span>'
        '<span class="mi">2</span>\n</span></code></pre></div>'
    )
    inline = html("Then {{< highlight text >}}a {{< b >}} c{{< /highlight >}} ends.")
    assert "<code>a {{&lt; b &gt;}} c\n</code>" in inline  # its shortcodes are code


@pytest.mark.parametrize(
    ("options", "lines"),
    [
        ("linenos=table,hl_lines=8 15-17,linenostart=199", "8 15-17"),
        ('hl_lines=[8,"15-17"]', "8 15-17"),
        ('hl_lines="2 3" linenos=true', "2 3"),
        ("hl_lines=2 linenostart=199", "2"),
        ("linenos=table", ""),
    ],
)
def test_hl_lines_in_every_hugo_form(options, lines):
    assert hl_lines(options) == lines


def test_highlight_shortcode_in_a_list_item():
    body = "1. Run:\n\n   {{< highlight sh >}}\n   make\n   {{< /highlight >}}\n\nAfter.\n"
    assert html(body) == (
        '<ol>\n<li>\n<p>Run:</p>\n<div class="highlight"><pre><span></span><code>make\n'
        "</code></pre></div>\n</li>\n</ol>\n<p>After.</p>"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "{{< youtube w7Ft2ymGmfc >}}",
            '<a class="cms-embed cms-embed-youtube" '
            'href="https://www.youtube.com/watch?v=w7Ft2ymGmfc">YouTube video</a>',
        ),
        (
            '{{< youtube id="w7Ft2ymGmfc" title="Intro <b>" autoplay="true" >}}',
            '<a class="cms-embed cms-embed-youtube" '
            'href="https://www.youtube.com/watch?v=w7Ft2ymGmfc">Intro &lt;b&gt;</a>',
        ),
        (
            "{{< vimeo 146022717 >}}",
            '<a class="cms-embed cms-embed-vimeo" href="https://vimeo.com/146022717">'
            "Vimeo video</a>",
        ),
        (
            '{{< vimeo id="146022717" title="A film" >}}',
            '<a class="cms-embed cms-embed-vimeo" href="https://vimeo.com/146022717">A film</a>',
        ),
    ],
)
def test_videos_are_links(body, expected):
    assert html(body) == f"<p>{expected}</p>"


def test_details():
    assert html('{{< details summary="More" open=true >}}\n*Inner* text.\n{{< /details >}}') == (
        '<details open=""><summary>More</summary>\n<p><em>Inner</em> text.</p>\n</details>'
    )
    assert html("{{% details %}}\n- a\n- b\n{{% /details %}}") == (
        "<details><summary>Details</summary>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n</details>"
    )


@pytest.mark.parametrize(
    ("reference", "url"),
    [
        ("docs/Foo.md", "/docs/foo/"),
        ("/blog/post", "/blog/post/"),
        ("docs/_index.md", "/docs/"),
        ("docs/bar/index.md", "/docs/bar/"),
        ("_index.md", "/"),
        ("docs/foo.md#Install-It", "/docs/foo/#Install-It"),
        ("#here", "#here"),
        ("./a/b.markdown", "/a/b/"),
        ("../up/x.md", "/up/x/"),
        ("My Page.md", "/my-page/"),
        ("javascript:alert(1)", "/javascript:alert%281%29/"),
        ('a"><b>.md', "/a%22%3E%3Cb%3E/"),
    ],
)
def test_permalink(reference, url):
    assert permalink(reference) == url


def test_ref_and_relref_make_links():
    body = (
        '[a]({{< ref "docs/Foo.md" >}}) [b]({{< relref "/blog/post" >}}) '
        '[c]({{< ref "docs/foo.md#sec" >}}) [d]({{< relref path="x/_index.md" >}}) '
        'see {{< ref "y.md" >}}'
    )
    assert html(body) == (
        '<p><a href="/docs/foo/">a</a> <a href="/blog/post/">b</a> '
        '<a href="/docs/foo/#sec">c</a> <a href="/x/">d</a> see /y/</p>'
    )


def test_param_reads_the_front_matter():
    body = (
        '{{< param "version" >}}|{{< param "author.name" >}}|{{< param tags >}}|'
        "{{< param draft >}}|{{< param missing >}}|{{< param count >}}"
    )
    assert html(body, FRONT_MATTER) == "<p>1.2|Ann &lt;admin&gt;|[a b]|false||3</p>"
    assert html('{{< param "version" >}}') == ""
    assert html("{{< param color >}}", {"params": {"color": "blue"}}) == "<p>blue</p>"


def test_param_and_the_memo():
    body = 'Version {{< param "version" >}}.'
    assert html(body, {"version": "1"}) == "<p>Version 1.</p>"
    assert html(body, {"version": "2"}) == "<p>Version 2.</p>"
    first = render_markdown("No param here.", front_matter={"a": 1})
    assert render_markdown("No param here.", front_matter={"a": 2}) == first
    key = rendering._memo_key
    assert key("x", "", {"a": 1}) == key("x", "", {"a": 2})  # draft and published share it
    assert key(body, "", {"a": 1}) != key(body, "", {"a": 2})


# --- unknown shortcodes: the inert element ---------------------------------------------------


def test_unknown_standalone_shortcode_is_an_inert_span_with_its_args():
    out = html('New {{< new-in 0.123.0 >}} and {{< badge status="beta" x=`a b` />}}.')
    assert out == (
        '<p>New <span class="cms-shortcode" data-shortcode="new-in" '
        'data-args="{&quot;0&quot;:&quot;0.123.0&quot;}"></span> and '
        '<span class="cms-shortcode" data-shortcode="badge" '
        'data-args="{&quot;status&quot;:&quot;beta&quot;,&quot;x&quot;:&quot;a b&quot;}">'
        "</span>.</p>"
    )
    assert inert_elements(out) == [
        ("span", "new-in", {"0": "0.123.0"}),
        ("span", "badge", {"status": "beta", "x": "a b"}),
    ]


def test_unknown_paired_markdown_shortcode_renders_its_inner_markdown():
    assert html('{{% note title="A" %}}\nInner **md** and\n\n- a list\n{{% /note %}}') == (
        '<div class="cms-shortcode" data-shortcode="note" '
        'data-args="{&quot;title&quot;:&quot;A&quot;}">\n<p>Inner <strong>md</strong> and</p>\n'
        "<ul>\n<li>a list</li>\n</ul>\n</div>"
    )


def test_unknown_paired_angle_shortcode_keeps_its_inner_text():
    out = html(
        '{{< code-toggle file="hugo" >}}\n[params]\ncolor = "<blue>" # *not* emphasis\n'
        "{{< /code-toggle >}}"
    )
    assert out == (
        '<div class="cms-shortcode" data-shortcode="code-toggle" '
        'data-args="{&quot;file&quot;:&quot;hugo&quot;}">\n[params]\n'
        'color = "&lt;blue&gt;" # *not* emphasis\n</div>'
    )


def test_nested_shortcodes():
    out = html(
        '{{< tabs >}}\n{{< tab "Go" >}}\n```go\nx := 1\n```\n{{< /tab >}}\n'
        '{{< tab "Sh" >}}make {{< new-in 2 >}}{{< /tab >}}\n{{< /tabs >}}\n\nAfter.\n'
    )
    assert [(tag, name) for tag, name, _ in inert_elements(out)] == [
        ("div", "tabs"),
        ("div", "tab"),
        ("span", "tab"),
        ("span", "new-in"),
    ]
    assert out.count("<pre>") == 1 and '<span class="nx">x</span>' in out
    assert out.endswith("</div>\n<p>After.</p>")


def test_inline_paired_shortcode_is_a_span():
    assert html("A {{% mark %}}*marked*{{% /mark %}} word.") == (
        '<p>A <span class="cms-shortcode" data-shortcode="mark" data-args="{}">'
        "<em>marked</em></span> word.</p>"
    )


def test_stray_closer_renders_nothing():
    assert html("Text {{< /nothing >}} here.\n\n{{% /alone %}}\n") == "<p>Text  here.</p>"


# --- excerpt and word count ------------------------------------------------------------------


def test_excerpt_and_word_count_skip_shortcode_elements():
    body = (
        '{{< new-in "0.1" >}} The {{< badge status="secret-arg" >}}first words '
        "{{< youtube w7Ft2ymGmfc >}}.\n\n{{% note %}}\nHidden note text.\n{{% /note %}}\n\n"
        '{{< tab "x" >}}raw tab text{{< /tab >}}\n\nLast.\n'
    )  # (a space before "." goes with the removed link)
    result = render_markdown(body)
    assert result.excerpt == "The first words. Last."
    assert result.word_count == 4
    for text in ("secret", "0.1", "Hidden", "YouTube", "raw tab"):
        assert text not in result.excerpt


# --- XSS through shortcode arguments ---------------------------------------------------------


def test_figure_src_javascript_is_dropped_and_caption_is_text():
    out = html(
        '{{< figure src="javascript:alert(1)" caption="<script>alert(1)</script>" '
        'link="javascript:alert(2)" attr="x" attrlink="data:text/html,x" >}}'
    )
    assert out == (
        '<figure><a><img alt="&lt;script&gt;alert(1)&lt;/script&gt;"></a>'
        "<figcaption>&lt;script&gt;alert(1)&lt;/script&gt; <a>x</a></figcaption></figure>"
    )


@pytest.mark.parametrize(
    "video_id", ['x\\"><script>alert(1)</script>', "abc def", "a&b=c", "javascript:alert(1)"]
)
def test_video_ids_are_validated(video_id):
    out = html(f'{{{{< youtube "{video_id}" >}}}} {{{{< vimeo id="{video_id}" >}}}}')
    assert "<script" not in out and "<a" not in out
    assert [name for _, name, _ in inert_elements(out)] == ["youtube", "vimeo"]


def test_data_args_cannot_break_out_of_the_attribute():
    payload = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    unquoted = payload.replace('"', "")
    out = html(f'{{{{< evil a=`{payload}` b="{unquoted}" >}}}}')
    assert "<script" not in out and "<img" not in out
    ((tag, name, args),) = inert_elements(out)
    assert (tag, name) == ("span", "evil")
    assert args == {"a": payload, "b": unquoted}
    data = re.search(r'data-args="([^"]*)"', out)
    assert data is not None and "<" not in html_lib.unescape(data.group(1))


def test_param_value_is_escaped():
    assert html('{{< param "x" >}}', {"x": "<script>alert(1)</script>"}) == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


# --- a realistic page ------------------------------------------------------------------------

HUGO_PAGE = """\
## Install {#install}

> [!NOTE]
> You need version {{< param "version" >}} or later.

1. Download the archive:

   ```sh {file="download.sh"}
   curl -LO https://example.com/hugo.tar.gz
   ```

2. Configure the site {{< new-in "0.123.0" >}}:

   ```toml {file="hugo.toml" linenos=false}
   baseURL = "https://example.org/"
   ```

3. Check it:
   ```text
   hugo version
   ```

{{< figure src="images/screenshot.png" alt="The result" caption="What you should see" >}}

{{% notice tip %}}
Read [the guide]({{< ref "docs/guide.md#start" >}}) first; it covers `{{</* figure */>}}` too.
{{% /notice %}}

| Shortcode | Example |
|-----------|---------|
| figure    | `{{</* figure src="x.png" */>}}` |
| new-in    | {{< new-in 0.100.0 />}} |

Term
: A definition with ~~no~~ a link to www.example.com.

- [x] install
- [ ] configure

{{< details summary="Show the template" >}}
````go-html-template
```go
{{ .Content }}
```
````
{{< /details >}}

{{< highlight go "hl_lines=1" >}}
package main
{{< /highlight >}}

{{< youtube w7Ft2ymGmfc >}}

Done[^1].

[^1]: With {{< tab "a" >}}raw{{< /tab >}} in a note.
"""


def test_a_realistic_hugo_docs_page():
    result = render_markdown(HUGO_PAGE, front_matter={"version": "0.111.0"})
    out = result.html
    prose = outside_code(out)
    assert "{{" not in prose and "&lt;" not in prose and "}}" not in prose
    fences = 4 + 1  # the four-backtick fence counts once; the highlight shortcode is one too
    assert out.count("<pre>") == fences
    assert result.toc == [{"level": 2, "id": "install", "title": "Install", "children": []}]
    assert '<p class="markdown-alert-title">Note</p>' in out
    assert "You need version 0.111.0 or later." in out
    assert '<a href="/docs/guide/#start">the guide</a>' in out
    assert "<code>{{&lt; figure &gt;}}</code>" in out
    assert '<code>{{&lt; figure src="x.png" &gt;}}</code>' in out
    assert '<figure><img src="images/screenshot.png" alt="The result">' in out
    assert "<dl>\n<dt>Term</dt>" in out and "<del>no</del>" in out
    assert '<a href="http://www.example.com">www.example.com</a>' in out
    assert out.count('class="task-list-item"') == 2
    assert "<details><summary>Show the template</summary>" in out
    assert '<span class="hll"><span class="kn">package</span>' in out
    assert 'href="https://www.youtube.com/watch?v=w7Ft2ymGmfc"' in out
    assert [name for _, name, _ in inert_elements(out)] == [
        "new-in",
        "notice",
        "new-in",
        "tab",
    ]
    assert "<ol>\n<li>\n<p>Download the archive:</p>" in out
    assert out.count("</ol>") == 2  # the steps, and the footnotes
    assert result.excerpt == (
        "You need version 0.111.0 or later. Download the archive: Configure the site: "
        "Check it: Done."
    )
