"""Nothing a student hands in runs in the instructor's browser.

A graded notebook is shown to the instructor by nbgrader's formgrader (a page served by the
instructor's own Jupyter server, so its scripts act with the instructor's login), by the feedback
HTML, and by anything else that later renders the autograded copy. nbconvert's HTML exporter passes
a notebook's HTML through as it is, so a written answer such as ``<img src=x onerror=...>`` or a
``display(HTML("<script>..."))`` in an answer cell would run there.

Two layers, both wired in course/nbgrader_config.py:

- **At the source** (:class:`SanitizeNotebook` as the last autograde step, after the grades are
  saved, so it never changes a score): the autograded copy keeps only what cannot run script.
  Outputs keep text, PNG/JPEG/GIF images, JSON, LaTeX and the check records; ``text/html`` is
  cleaned with bleach; SVG is kept only if it holds nothing that could run or load anything;
  JavaScript, widget views and every other type are removed with a note saying so. Markdown cells
  are left as written unless they would render to something outside the allowlist (script, event
  handlers, ``javascript:`` links, iframes, objects, SVG...): such an answer is shown verbatim as
  text in a code block, so the grader reads exactly what was handed in. Attachments other than
  raster images, widget state and ``trusted`` flags are dropped.
- **When rendering** (:class:`SanitizeNotebook` again as an HTMLExporter preprocessor, plus the
  :func:`markdown2html` and :func:`clean_html` filters and ``sanitize_html``): every page the
  formgrader and ``generate_feedback`` make passes its markdown and HTML through :func:`clean_html`,
  whatever the notebook holds (a notebook graded before this module existed, or edited since).

:func:`clean_html` allows text markup, tables and images given as ``data:image/...`` URLs; no
script, no event handlers, no styles, no ids or forms (nothing that could run, restyle or impersonate
the grading page), no remote images (no request leaves the page). Disallowed tags are escaped, so
they stay readable as text.
"""
from __future__ import annotations

import re

import bleach
import jinja2
from bleach import html5lib_shim
from nbconvert.preprocessors import Preprocessor
from traitlets import default

# ----------------------------------------------------------------------------------------------
# what may appear in a page made from a submission

TAGS = frozenset(bleach.ALLOWED_TAGS) | {
    "p", "div", "span", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "code", "kbd", "samp",
    "var", "sub", "sup", "small", "mark", "del", "ins", "s", "u", "q", "cite", "dfn", "tt",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
    "img", "dl", "dt", "dd", "details", "summary", "figure", "figcaption", "center",
}
# pygments' token classes (one to three letters), code highlighting and pandas' table class; no
# other class names, so a submission cannot borrow the grading page's buttons and inputs
SAFE_CLASSES = frozenset({"highlight", "hll", "dataframe", "anchor-link"})
RASTER = ("image/png", "image/jpeg", "image/gif")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp|svg\+xml)[;,]")
_NUMBER = re.compile(r"^\s*\d{1,5}(\.\d+)?\s*(px|%)?\s*$")


def _normal_url(value: str) -> str:
    """The URL as bleach compares it: entities resolved, control characters and blanks gone."""
    value = html5lib_shim.convert_entities(value)
    value = re.sub(r"[`\000-\040\177-\240\s]+", "", value)
    return re.sub(r"[^\x00-\x7f]", "", value).lower()


def _attribute_allowed(tag: str, name: str, value: str, *, remote_images=False, ids=False) -> bool:
    if name in ("title", "alt", "lang", "dir"):
        return True
    if name == "class":
        return all(len(c) <= 3 and c.isalnum() or c in SAFE_CLASSES for c in value.split())
    if name == "id":
        return ids and tag in ("h1", "h2", "h3", "h4", "h5", "h6")
    if tag == "a" and name == "href":
        url = _normal_url(value)
        return not url.startswith(("data:", "javascript:", "vbscript:"))
    if tag == "img" and name == "src":
        url = _normal_url(value)
        return bool(_DATA_IMAGE.match(url)) or (remote_images and url.startswith(("http:", "https:")))
    if tag in ("img", "col", "table", "td", "th") and name in ("width", "height"):
        return bool(_NUMBER.match(value))
    if tag in ("td", "th") and name in ("colspan", "rowspan"):
        return value.strip().isdigit()
    if tag in ("td", "th", "tr", "table", "col") and name in ("align", "valign"):
        return value.strip().lower() in ("left", "right", "center", "justify", "top", "middle", "bottom")
    if tag in ("col", "colgroup") and name == "span":
        return value.strip().isdigit()
    if tag == "ol" and name in ("start", "type"):
        return bool(re.match(r"^[0-9aAiI]{1,5}$", value.strip()))
    if tag == "details" and name == "open":
        return True
    return False


_CLEANER = bleach.Cleaner(tags=TAGS, attributes=_attribute_allowed,
                          protocols={"http", "https", "mailto", "data"}, strip=False, strip_comments=True)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.S | re.I)


def clean_html(html) -> str:
    """``html`` with only the allowlisted markup left; other tags are escaped (shown as text).

    ``<style>`` blocks are dropped first so that tables made by pandas show no CSS as text (a
    cosmetic step only: what remains goes through bleach all the same). Also registered as
    nbconvert's ``clean_html`` filter, so the templates' own sanitising uses these rules.
    """
    html = html.decode() if isinstance(html, bytes) else str(html)
    return _CLEANER.clean(_STYLE_BLOCK.sub("", html))


# ----------------------------------------------------------------------------------------------
# is a piece of markup inert? (checked on the tree a browser would build: html5lib, as in bleach)

SVG_NS = "{http://www.w3.org/2000/svg}"
SVG_TAGS = frozenset({
    "svg", "g", "defs", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "textpath", "clippath", "mask", "pattern", "marker", "symbol", "use", "image", "title",
    "desc", "lineargradient", "radialgradient", "stop", "style", "metadata", "switch",
    # matplotlib's metadata block
    "rdf:rdf", "cc:work", "cc:agent", "dc:type", "dc:date", "dc:format", "dc:creator", "dc:title",
})
_BAD_CSS = re.compile(r"url\s*\(\s*(?!['\"]?#)|@import|expression|javascript|\\", re.I)


def _parse(text: str):
    parser = html5lib_shim.BleachHTMLParser(tags=None, strip=False, consume_entities=False,
                                            namespaceHTMLElements=False)
    return parser.parseFragment(text)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _svg_inert(el) -> bool:
    tag = _local(el.tag).lower()
    if tag not in SVG_TAGS:
        return False
    for name, value in el.attrib.items():
        local = _local(name).lower()
        if local.startswith("on"):
            return False
        if local in ("href", "src"):
            url = _normal_url(value)
            if not (url.startswith("#") or (tag == "image" and re.match(r"^data:image/(png|jpeg|gif)[;,]", url))):
                return False
        if local == "style" and _BAD_CSS.search(value):
            return False
    if tag == "style" and _BAD_CSS.search("".join(el.itertext())):
        return False
    return True


def inert(html: str, svg: bool = False) -> bool:
    """True if every element and attribute of ``html`` is one that :func:`clean_html` would keep
    (``svg=False``; remote images and heading ids allowed), or, with ``svg=True``, if ``html`` is
    SVG graphics only: no script, links, animation, foreign content, event handlers, external
    references or CSS that loads anything."""
    try:
        root = _parse(html)
    except Exception:  # html5lib recovers from anything; be safe all the same
        return False
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments
            continue
        if el.tag == "DOCUMENT_FRAGMENT":
            continue
        if el.tag.startswith(SVG_NS) or "}" in el.tag:
            if not svg or not _svg_inert(el):
                return False
            continue
        if svg or el.tag not in TAGS:
            return False
        for name, value in el.attrib.items():
            if not _attribute_allowed(el.tag, name, value, remote_images=True, ids=True):
                return False
    return True


# ----------------------------------------------------------------------------------------------
# markdown


def _render_markdown(source: str, attachments=None, path: str = "") -> str:
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, embed_images=False, path=path,
                               anchor_link_text="¶", exclude_anchor_links=False)
    return MarkdownWithMath(renderer=renderer).render(source)


def as_text_block(source: str, note: str) -> str:
    """Markdown that shows ``source`` verbatim, as text, under ``note``."""
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", source)), default=0))
    return f"*{note}*\n\n{fence}text\n{source}\n{fence}\n"


ANSWER_NOTE = ("The grader shows this answer as plain text: it held markup that could run script in a "
               "browser.")


def clean_markdown(source: str, attachments=None) -> str:
    """``source`` unchanged if it renders to inert HTML, else shown verbatim as text."""
    try:
        ok = inert(_render_markdown(source, attachments))
    except Exception:
        ok = False
    if ok:
        return source
    shown = as_text_block(source, ANSWER_NOTE)
    return shown if inert(_render_markdown(shown)) else f"*{ANSWER_NOTE}*"


@jinja2.pass_context
def markdown2html(context, source):
    """nbconvert's ``markdown2html`` filter (HTMLExporter's), with the result passed through
    :func:`clean_html`. Registered in the course's configuration, so the formgrader's and the
    feedback's templates, which render markdown cells without any sanitising, go through it."""
    cell = context.get("cell", {}) or {}
    attachments = clean_attachments(cell.get("attachments") or {})
    path = (context.get("resources", {}) or {}).get("metadata", {}).get("path", "")
    return clean_html(_render_markdown(source, attachments, path))


def clean_attachments(attachments: dict) -> dict:
    """Only raster images, given as text (base64)."""
    if not isinstance(attachments, dict):
        return {}
    kept = {}
    for name, bundle in attachments.items():
        if not isinstance(bundle, dict):
            continue
        images = {m: v for m, v in bundle.items() if m in RASTER and isinstance(v, str)}
        if images:
            kept[name] = images
    return kept


# ----------------------------------------------------------------------------------------------
# outputs

RECORD_MIME = "application/vnd.labkit.check"  # labkit.checks' records: JSON text, never rendered
KEPT_AS_IS = frozenset({"text/plain", "text/latex", "application/json", *RASTER, RECORD_MIME})
REMOVED_NOTE = "[the grader removed output of type {types}: it could run script in a browser]"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _clean_metadata(meta) -> dict:
    """Output metadata: only numeric width/height of raster images (nbconvert's templates write
    these into unquoted attributes) and the ``unconfined`` flag."""
    out = {}
    if not isinstance(meta, dict):
        return out
    for mime in RASTER:
        m = meta.get(mime)
        if isinstance(m, dict):
            kept = {k: m[k] for k in ("width", "height") if isinstance(m.get(k), (int, float))
                    and not isinstance(m.get(k), bool)}
            if m.get("unconfined") is True:
                kept["unconfined"] = True
            if kept:
                out[mime] = kept
    return out


def clean_output(output: dict) -> dict:
    kind = output.get("output_type")
    if kind in ("stream", "error"):
        return output
    if kind not in ("display_data", "execute_result"):
        return {"output_type": "stream", "name": "stdout", "text": REMOVED_NOTE.format(types=kind) + "\n"}
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept, removed = {}, []
    for mime, value in data.items():
        if mime in KEPT_AS_IS:
            kept[mime] = value
        elif mime == "text/html":
            kept[mime] = clean_html(_text(value))
        elif mime == "text/markdown":
            text = _text(value)
            if inert(_render_markdown(text)):
                kept[mime] = text
            else:
                kept.setdefault("text/plain", text)
                removed.append(mime)
        elif mime == "image/svg+xml" and inert(_text(value), svg=True):
            kept[mime] = value
        else:
            removed.append(mime)
    if removed:
        note = REMOVED_NOTE.format(types=", ".join(sorted(removed)))
        plain = _text(kept.get("text/plain", ""))
        kept["text/plain"] = (plain + "\n" + note) if plain else note
    output["data"] = kept
    output["metadata"] = _clean_metadata(output.get("metadata"))
    return output


# ----------------------------------------------------------------------------------------------
# the preprocessor


def sanitize_notebook(nb):
    """Make ``nb`` (a NotebookNode) safe to render anywhere; returns it (changed in place)."""
    meta = nb.get("metadata")
    if isinstance(meta, dict):
        meta.pop("widgets", None)
        meta.pop("signature", None)
    for cell in nb.get("cells", []):
        cell_meta = cell.get("metadata")
        if isinstance(cell_meta, dict):
            cell_meta.pop("trusted", None)
        kind = cell.get("cell_type")
        if kind == "markdown":
            attachments = clean_attachments(cell.get("attachments") or {})
            if attachments:
                cell["attachments"] = attachments
            else:
                cell.pop("attachments", None)
            cell["source"] = clean_markdown(_text(cell.get("source", "")), attachments)
        else:
            cell.pop("attachments", None)
        if kind == "raw":
            fmt = str((cell_meta or {}).get("format", (cell_meta or {}).get("raw_mimetype", ""))).lower()
            if "html" in fmt or "markdown" in fmt or "rst" in fmt:
                cell["source"] = clean_html(_text(cell.get("source", "")))
        if kind == "code":
            cell["outputs"] = [clean_output(o) for o in cell.get("outputs", []) if isinstance(o, dict)]
    return nb


class SanitizeNotebook(Preprocessor):
    """nbconvert preprocessor around :func:`sanitize_notebook` (an autograde step, and a step of
    every HTML export the course's configuration makes)."""

    @default("enabled")
    def _enabled_default(self):
        return True

    def preprocess(self, nb, resources):
        return sanitize_notebook(nb), resources


__all__ = ["SanitizeNotebook", "clean_html", "clean_markdown", "clean_output", "inert", "markdown2html",
           "sanitize_notebook"]
