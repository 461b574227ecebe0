"""GET /docs: the OpenAPI document rendered as one self-contained HTML page (no scripts, no
CDN): operations by tag with their parameters, bodies and responses, then the schemas."""

from __future__ import annotations

import json
from html import escape
from typing import Any

Schema = dict[str, Any]

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;
color:#1d2330}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #dde;padding-bottom:.2rem;margin-top:2.5rem}
h3{font:600 1rem ui-monospace,monospace;margin:1.6rem 0 .3rem}
code,.mono{font-family:ui-monospace,monospace;font-size:.9em}
table{border-collapse:collapse;width:100%;margin:.3rem 0 .8rem}
th,td{border:1px solid #dde;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f5f9;font-weight:600}
.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;color:#fff;
padding:0 .4rem;margin-right:.4rem}
.GET{background:#2f7d32}.POST{background:#1f5fbf}.PUT{background:#8a5a00}
.PATCH{background:#6b3fa0}.DELETE{background:#b3261e}
.op{border-left:4px solid #dde;padding:.1rem 1rem;margin:1rem 0}
.scope{background:#fff4d6;border-radius:4px;padding:0 .35rem}
nav ul{columns:2;padding-left:1.2rem;margin-top:0}nav p{margin:.6rem 0 .2rem}.req{color:#b3261e}
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_html(schema: Schema | None) -> str:
    """A short, linked description of a JSON Schema: 'array of <a>Entry</a> | null'."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = escape(_ref_name(schema["$ref"]))
        return f'<a href="#schema-{name}">{name}</a>'
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_html(s) for s in schema[key])
    if "enum" in schema:
        return " | ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_html(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {type_html(schema['additionalProperties'])}"
    text = escape(" | ".join(kind) if isinstance(kind, list) else str(kind))
    limits = [
        f"{k}: {escape(schema[k] if k == 'pattern' else json.dumps(schema[k]))}"
        for k in ("pattern", "minimum", "maximum", "minLength", "maxLength", "default")
        if k in schema
    ]
    return text + (f' <span class="mono">({"; ".join(limits)})</span>' if limits else "")


def _resolve(spec: Schema, item: Schema) -> Schema:
    """Follow one local $ref (#/components/...)."""
    if "$ref" not in item:
        return item
    node: Any = spec
    for part in item["$ref"].lstrip("#/").split("/"):
        node = node[part]
    return node


def _parameters(spec: Schema, params: list[Schema]) -> str:
    if not params:
        return ""
    rows = []
    for raw in params:
        p = _resolve(spec, raw)
        required = ' <span class="req">required</span>' if p.get("required") else ""
        rows.append(
            f"<tr><td><code>{escape(p['name'])}</code>{required}</td><td>{escape(p['in'])}</td>"
            f"<td>{type_html(p.get('schema'))}</td><td>{escape(p.get('description', ''))}</td></tr>"
        )
    head = "<tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _content(content: Schema | None) -> str:
    if not content:
        return "—"
    return "<br>".join(
        f"<code>{escape(t)}</code>: {type_html(v.get('schema')) if v else 'bytes'}"
        for t, v in content.items()
    )


def _links(links: Schema | None) -> str:
    """A response's links: the operations that take what it names."""
    if not links:
        return ""
    names = ", ".join(
        f'<a href="#op-{escape(link["operationId"])}">{escape(name)}</a>'
        for name, link in links.items()
    )
    return f"<br>Then: {names}"


def _operation(spec: Schema, method: str, path: str, op: Schema) -> str:
    parts = [
        f'<div class="op" id="op-{escape(op["operationId"])}">',
        f'<h3><span class="m {method}">{method}</span>{escape(path)}</h3>',
        f"<p><strong>{escape(op.get('summary', ''))}</strong>",
    ]
    scope = op.get("x-required-scope")
    parts.append(f' — key scope <span class="scope">{escape(scope)}</span>' if scope else "")
    parts.append(" — public</p>" if not scope else "</p>")
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    parts.append(_parameters(spec, op.get("parameters", [])))
    body = op.get("requestBody")
    if body:
        need = "required" if body.get("required") else "optional"
        parts.append(f"<p>Request body ({need}):<br>{_content(body.get('content'))}</p>")
    rows = []
    for status, raw in op["responses"].items():
        r = _resolve(spec, raw)
        rows.append(
            f"<tr><td>{escape(status)}</td><td>{escape(r.get('description', ''))}"
            f"{_links(r.get('links'))}</td><td>{_content(r.get('content'))}</td></tr>"
        )
    parts.append(
        "<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>" + "".join(rows) + "</table>"
    )
    parts.append("</div>")
    return "".join(parts)


def _schema(name: str, schema: Schema) -> str:
    parts = [f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>']
    if schema.get("description"):
        parts.append(f"<p>{escape(schema['description'])}</p>")
    props: Schema = schema.get("properties", {})
    if not props:
        parts.append(f"<p>{type_html(schema)}</p>")
        return "".join(parts)
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(k)}</code>"
        + (' <span class="req">required</span>' if k in required else "")
        + f"</td><td>{type_html(v)}</td><td>{escape(v.get('description', ''))}</td></tr>"
        for k, v in props.items()
    )
    extra = "" if schema.get("additionalProperties") is not False else " No other properties."
    parts.append(
        f"<table><tr><th>Property</th><th>Type</th><th>Description</th></tr>{rows}</table>"
    )
    parts.append(f"<p>{extra}</p>" if extra else "")
    return "".join(parts)


def render(spec: Schema) -> str:
    by_tag: dict[str, list[tuple[str, str, Schema]]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append((method.upper(), path, op))
    tags = [t["name"] for t in spec.get("tags", [])]
    tags += sorted(t for t in by_tag if t not in tags)
    info = spec["info"]
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(info['title'])} API</title>",
        '<meta name=viewport content="width=device-width, initial-scale=1">',
        '<link rel="alternate" type="application/json" href="openapi.json">',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(info['title'])} API</h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        '<p>The machine-readable document: <a href="openapi.json">openapi.json</a> '
        f"(OpenAPI {escape(spec['openapi'])}). Management operations take "
        "<code>Authorization: Bearer &lt;key&gt;</code>.</p><nav>",
    ]
    for tag in tags:
        if tag not in by_tag:
            continue
        out.append(f'<p><a href="#tag-{escape(tag)}"><strong>{escape(tag)}</strong></a></p><ul>')
        out.extend(
            f'<li><a href="#op-{escape(op["operationId"])}"><span class="mono">{method} '
            f"{escape(path)}</span></a></li>"
            for method, path, op in by_tag[tag]
        )
        out.append("</ul>")
    out.append("</nav>")
    descriptions = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    for tag in tags:
        if tag not in by_tag:
            continue
        out.append(
            f'<h2 id="tag-{escape(tag)}">{escape(tag)}</h2>'
            f"<p>{escape(descriptions.get(tag, ''))}</p>"
        )
        out.extend(_operation(spec, m, p, op) for m, p, op in by_tag[tag])
    out.append("<h2>Schemas</h2>")
    schemas: Schema = spec.get("components", {}).get("schemas", {})
    out.extend(_schema(name, schema) for name, schema in schemas.items())
    out.append("</body></html>")
    return "".join(out)
