"""Nothing a student hands in runs in the instructor's browser.

A graded notebook is shown to the instructor by nbgrader's formgrader (a page served by the
instructor's own Jupyter server, so its scripts act with the instructor's login), by the feedback
HTML, and by anything else that later renders the autograded copy. nbconvert's HTML exporter passes
a notebook's HTML through as it is, so a written answer such as ``<img src=x onerror=...>`` or a
``display(HTML("<script>..."))`` in an answer cell would run there.

Two layers, both wired in course/nbgrader_config.py, and a policy on the feedback pages:

- **At the source** (:class:`SanitizeNotebook` as the last autograde step, after the grades are
  saved, so it never changes a score): the autograded copy keeps only what cannot run script.
  Outputs keep text, PNG/JPEG/GIF images, JSON, LaTeX and the check records; ``text/html`` is
  cleaned with nh3 (the Python binding of the Rust sanitiser ammonia, which parses as browsers do);
  SVG is kept only if it holds nothing that could run or load anything; JavaScript, widget views and
  every other type are removed with a note saying so. Markdown cells are left as written unless they
  would render to something outside the allowlist (script, event handlers, ``javascript:`` links,
  iframes, objects, SVG...): such an answer is shown verbatim as text in a code block, so the
  grader reads exactly what was handed in. Attachments other than raster images, widget state and
  ``trusted`` flags are dropped.
- **When rendering** (:class:`SanitizeNotebook` again as an HTMLExporter preprocessor, plus the
  :func:`markdown2html` and :func:`clean_html` filters and ``sanitize_html``): every page the
  formgrader and ``generate_feedback`` make passes its markdown and HTML through :func:`clean_html`,
  whatever the notebook holds (a notebook graded before this module existed, or edited since).
- **The feedback pages** (:class:`FeedbackExporter`, ``generate_feedback``'s exporter) carry a
  Content-Security-Policy (:data:`FEEDBACK_CSP`) as the first element of their ``<head>``: no script,
  no connection, no frame or object, no form target, no ``<base>``; only the page's inline styles
  and ``data:`` images load. Whatever a sanitiser missed still could not run there.

:func:`clean_html` allows text markup, tables and images given as ``data:image/...`` URLs; no
script, no event handlers, no styles, no ids or forms (nothing that could run, restyle or impersonate
the grading page), no remote images (no request leaves the page). A disallowed tag is removed and
its text kept; the content of ``<script>``, ``<style>`` and ``<template>`` is removed with it.
"""
from __future__ import annotations

import html as _html
import re
from html.parser import HTMLParser

import jinja2
import nh3
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import default

# ----------------------------------------------------------------------------------------------
# what may appear in a page made from a submission

TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "code", "em", "i", "li", "ol", "strong", "ul",
    "p", "div", "span", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "kbd", "samp",
    "var", "sub", "sup", "small", "mark", "del", "ins", "s", "u", "q", "cite", "dfn", "tt",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
    "img", "dl", "dt", "dd", "details", "summary", "figure", "figcaption", "center",
})
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# the attributes a tag may carry at all; :func:`_attribute_allowed` then judges each value
GENERIC_ATTRIBUTES = frozenset({"title", "alt", "lang", "dir", "class"})
TAG_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "width", "height"},
    "table": {"width", "height", "align", "valign"},
    "td": {"width", "height", "colspan", "rowspan", "align", "valign"},
    "th": {"width", "height", "colspan", "rowspan", "align", "valign"},
    "tr": {"align", "valign"},
    "col": {"width", "height", "align", "valign", "span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "details": {"open"},
}
# removed with everything inside them (other disallowed tags are removed and their text kept)
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template"})
# pygments' token classes (one to three letters), code highlighting and pandas' table class; no
# other class names, so a submission cannot borrow the grading page's buttons and inputs
SAFE_CLASSES = frozenset({"highlight", "hll", "dataframe", "anchor-link"})
RASTER = ("image/png", "image/jpeg", "image/gif")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp|svg\+xml)[;,]")
_NUMBER = re.compile(r"^\s*\d{1,5}(\.\d+)?\s*(px|%)?\s*$")


def _normal_url(value: str) -> str:
    """The URL as a browser reads its scheme: entities resolved (once more than the parser did, to
    be safe), control characters and blanks gone, lower case."""
    value = _html.unescape(value)
    value = re.sub(r"[`\000-\040\177-\240\s]+", "", value)
    return re.sub(r"[^\x00-\x7f]", "", value).lower()


def _attribute_allowed(tag: str, name: str, value: str, *, remote_images=False, ids=False) -> bool:
    if name in ("title", "alt", "lang", "dir"):
        return True
    if name == "class":
        return all(len(c) <= 3 and c.isalnum() or c in SAFE_CLASSES for c in value.split())
    if name == "id":
        return ids and tag in HEADINGS
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


class _Cleaner:
    """nh3 with the course's allowlist: the tags above, their attributes judged one by one."""

    def __init__(self, *, remote_images: bool, ids: bool, url_schemes, link_rel):
        attributes = {"*": set(GENERIC_ATTRIBUTES), **{t: set(a) for t, a in TAG_ATTRIBUTES.items()}}
        if ids:
            for h in HEADINGS:
                attributes.setdefault(h, set()).add("id")

        def judge(tag, name, value):
            return value if _attribute_allowed(tag, name, value, remote_images=remote_images, ids=ids) else None

        self.options = dict(tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT), attributes=attributes,
                            attribute_filter=judge, url_schemes=set(url_schemes), link_rel=link_rel,
                            strip_comments=True)

    def __call__(self, html: str) -> str:
        return nh3.clean(html, **self.options)


# what the pages show: links get rel="noopener noreferrer"
_CLEANER = _Cleaner(remote_images=False, ids=False, url_schemes={"http", "https", "mailto", "data"},
                    link_rel="noopener noreferrer")
# what :func:`inert` compares with: the same rules with heading ids and remote images, and nothing
# added, so that markup within the allowlist comes back as it went in
_INERT_CLEANER = _Cleaner(remote_images=True, ids=True, url_schemes=nh3.ALLOWED_URL_SCHEMES | {"data"}, link_rel=None)


def clean_html(html) -> str:
    """``html`` with only the allowlisted markup left; other tags are removed (their text stays,
    except inside ``<script>``, ``<style>`` and ``<template>``, which go with their content, so
    tables made by pandas show no CSS as text). Also registered as nbconvert's ``clean_html``
    filter, so the templates' own sanitising uses these rules.
    """
    html = html.decode() if isinstance(html, bytes) else str(html)
    return _CLEANER(html)


# ----------------------------------------------------------------------------------------------
# is a piece of markup inert?
#
# Python's html.parser reads the markup; it is lenient where browsers are strict, so what it sees is
# trusted only where nothing could make a browser see something else: HTML is also cleaned by nh3
# (html5ever, the parser of a browser engine) with the same rules, and what html.parser sees in the
# result must be what it saw in the input. A tag, attribute or text a browser would read differently
# (a comment closed early, a tag inside an attribute, a foreign-content trick) then shows up as a
# difference. SVG, which nh3 does not keep, is held to rules under which both parsers agree: no
# character ``<`` outside tags (so no text, style or title can hold a tag), no ``>`` in comments, no
# CDATA sections, nothing left unparsed.

SVG_TAGS = frozenset({
    "svg", "g", "defs", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "textpath", "clippath", "mask", "pattern", "marker", "symbol", "use", "image", "title",
    "desc", "lineargradient", "radialgradient", "stop", "style", "metadata", "switch",
    # matplotlib's metadata block
    "rdf:rdf", "cc:work", "cc:agent", "dc:type", "dc:date", "dc:format", "dc:creator", "dc:title",
})
_BAD_CSS = re.compile(r"url\s*\(\s*(?!['\"]?#)|@import|expression|javascript|\\", re.I)


def _normal_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as a browser's input stream does


class _HTMLView(HTMLParser):
    """What html.parser sees in HTML: start tags with their attributes, and the text between them
    (blanks removed); ``doubtful`` where the markup holds something parsers disagree on."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.view, self.doubtful, self._text = [], False, []
        self.feed(_normal_newlines(text))
        self.close()
        self._flush()
        self.doubtful |= bool(self.rawdata) or self.cdata_elem is not None

    def _flush(self):
        text = "".join("".join(self._text).split())
        if text:
            self.view.append(("", text))
        self._text = []

    def handle_starttag(self, tag, attrs):
        self._flush()
        attrs = tuple(sorted((name, value or "") for name, value in attrs))
        if tag != "tbody" or attrs:  # the parser of a browser adds the <tbody> a table lacks
            self.view.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self._text.append(data)

    def handle_comment(self, data):
        if ">" in data:  # a browser could have ended it earlier (<!-->, --!>)
            self.doubtful = True

    def handle_decl(self, decl):
        self.doubtful = True

    handle_pi = unknown_decl = handle_decl

    def tags(self):
        return [item for item in self.view if item[0]]


class _SVGCheck(HTMLParser):
    """SVG graphics only, read so that a browser (inline or as an image) cannot see more."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=False)
        self.ok, self.depth, self.done, self.css = True, 0, False, []
        self.feed(_normal_newlines(text))
        self.close()
        self.ok &= not self.rawdata and self.cdata_elem is None and self.done and self.depth == 0
        self.ok &= not _BAD_CSS.search(_html.unescape("".join(self.css)))

    def _element(self, tag, attrs):
        if self.done or tag not in SVG_TAGS or (self.depth == 0 and tag != "svg"):
            return False
        for name, value in attrs:
            value, local = value or "", name.rsplit(":", 1)[-1]
            if name.startswith("on") or local.startswith("on"):
                return False
            if local in ("href", "src"):
                url = _normal_url(value)
                if not (url.startswith("#") or (tag == "image" and re.match(r"^data:image/(png|jpeg|gif)[;,]", url))):
                    return False
            elif _BAD_CSS.search(_html.unescape(value)):  # style, and presentation attributes such as fill=url(...)
                return False
        return True

    def handle_starttag(self, tag, attrs):
        self.ok &= self._element(tag, attrs)
        self.depth += tag == "svg"

    def handle_startendtag(self, tag, attrs):
        self.ok &= self._element(tag, attrs)
        self.done |= tag == "svg" and self.depth == 0

    def handle_endtag(self, tag):
        self.ok &= tag in SVG_TAGS and not self.done
        if tag == "svg":
            self.depth -= 1
            self.ok &= self.depth >= 0
            self.done |= self.depth == 0

    def handle_data(self, data):
        self.ok &= "<" not in data
        if self.cdata_elem is not None:  # <style>: a browser reads entities in SVG's style text
            self.css.append(data)

    def handle_comment(self, data):
        self.ok &= ">" not in data

    def handle_decl(self, decl):
        self.ok &= decl[:7].lower() == "doctype" and "[" not in decl and "<" not in decl

    def handle_pi(self, data):
        pass  # <?xml ...?>: a comment to a browser, ended by the same ">"

    def unknown_decl(self, data):  # <![CDATA[...]]>
        self.ok = False


def inert(html: str, svg: bool = False) -> bool:
    """True if every element and attribute of ``html`` is one that :func:`clean_html` would keep
    (``svg=False``; remote images and heading ids allowed), or, with ``svg=True``, if ``html`` is
    SVG graphics only: no script, links, animation, foreign content, event handlers, external
    references or CSS that loads anything."""
    try:
        if svg:
            return _SVGCheck(html).ok
        seen = _HTMLView(html)
        if seen.doubtful:
            return False
        if not all(tag in TAGS and all(_attribute_allowed(tag, n, v, remote_images=True, ids=True) for n, v in attrs)
                   for tag, attrs in seen.tags()):
            return False
        again = _HTMLView(_INERT_CLEANER(_normal_newlines(html)))
        return not again.doubtful and again.view == seen.view
    except Exception:  # a parser that gives up: not shown as markup
        return False


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


# ----------------------------------------------------------------------------------------------
# the feedback pages

# What a feedback page needs: its inline styles and the data: URLs of its figures. Nothing else loads
# or runs: no script (MathJax included, so math shows as its TeX source), no fetch, frame, object,
# font or media, no form target and no <base>.
FEEDBACK_CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{FEEDBACK_CSP}">'
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
# what the template's head asks for and the policy blocks: nbconvert's MathJax loader, and the icon
# font of nbgrader's Bootstrap CSS (the page shows no icon, and ../fonts/ is not kept with it);
# Chromium reports a blocked @font-face even when nothing uses it
_BLOCKED_BY_POLICY = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->|@font-face\s*\{[^}]*\}",
                                re.S | re.I)


def with_policy(page: str) -> str:
    """``page`` (a whole HTML document) with :data:`CSP_META` as the first element of its head, and
    what the policy would block taken out of the head (the MathJax loader, the icon font). Only the
    template's part of the page (before ``</head>``) is changed; a page without a head is refused
    rather than written without the policy."""
    head = _HEAD.search(page)
    end = page.lower().find("</head>")
    if head is None or end < head.end():
        raise ValueError("a feedback page without <head>...</head>: the Content-Security-Policy has no place")
    inside = _BLOCKED_BY_POLICY.sub("", page[head.end():end])
    return page[:head.end()] + "\n" + CSP_META + inside + page[end:]


class FeedbackExporter(HTMLExporter):
    """``generate_feedback``'s exporter (``GenerateFeedback.exporter_class`` in the course's
    configuration): nbconvert's HTMLExporter, configured as it is, with :func:`with_policy` applied
    to every page."""

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources=resources, **kw)
        return with_policy(output), resources


__all__ = ["CSP_META", "FEEDBACK_CSP", "FeedbackExporter", "SanitizeNotebook", "clean_html", "clean_markdown",
           "clean_output", "inert", "markdown2html", "sanitize_notebook", "with_policy"]
