"""The grader's sanitiser (course/grader/sanitize.py) on every payload of tests/course/hostile.py,
without a browser: what an autograded copy keeps, and what an HTML export made with the course's
configuration contains. The browser test (test_formgrader_security.py) shows the same end to end.
"""
import copy
import io
import re

import nbformat
import pytest
from nbconvert import HTMLExporter
from traitlets.config import PyFileConfigLoader

import hostile
from grader import sanitize
from grader.build import COURSE
from hostile import live_payloads

PORT = 9  # the payloads' listener port; nothing listens in these tests


@pytest.mark.parametrize("name", list(hostile.markdown_payloads(PORT)))
def test_a_markdown_payload_is_shown_as_text(name):
    text = hostile.markdown_payloads(PORT)[name]
    assert live_payloads(sanitize._render_markdown(text)) == {name}, "rendered as it is, the payload is live"
    out = sanitize.clean_markdown(text)
    assert out != text and sanitize.ANSWER_NOTE in out
    assert text in out  # verbatim: the instructor reads what was handed in
    rendered = sanitize._render_markdown(out)
    assert sanitize.inert(rendered)
    assert not live_payloads(rendered)
    assert "base64" in text or "PWNED-" + name in rendered  # there, as text


@pytest.mark.parametrize("name", list(hostile.markdown_payloads(PORT)))
def test_markdown_rendered_for_the_formgrader_is_clean(name):
    html = sanitize.markdown2html({"cell": {}, "resources": {}}, hostile.markdown_payloads(PORT)[name])
    assert not live_payloads(html)
    assert not re.search(r"<(script|iframe|object|svg|embed)\b", html, re.I)


@pytest.mark.parametrize("name", list(hostile.output_payloads(PORT)))
def test_an_output_payload_is_removed_or_cleaned(name):
    data, meta = copy.deepcopy(hostile.output_payloads(PORT)[name])
    out = sanitize.clean_output(nbformat.v4.new_output("display_data", data=data, metadata=meta))
    assert set(out["data"]) <= {"text/plain", "text/html", "image/png"}
    assert not live_payloads(out["data"].get("text/html", ""))
    assert out["metadata"] == {}  # the width that carried an onload is gone
    if name in ("out-javascript", "out-widget", "out-svg", "out-markdown"):
        assert "removed output" in out["data"]["text/plain"]


def test_what_an_instructor_needs_stays():
    assert sanitize.clean_markdown(hostile.TIDY_ANSWER) == hostile.TIDY_ANSWER
    math = "$$\\begin{align} a &= b \\\\ c &< d \\end{align}$$ and `x < 1` and <b>bold</b>, <br> <sub>2</sub>"
    assert sanitize.clean_markdown(math) == math
    import pandas as pd
    table = pd.DataFrame({"digit": [3, 8], "accuracy": [0.97, 0.91]})._repr_html_()
    cleaned = sanitize.clean_html(table)
    assert "<th>accuracy</th>" in cleaned.replace(' class="dataframe"', "") or "accuracy</th>" in cleaned
    assert "<td>0.91</td>" in cleaned and "<style" not in cleaned and "&lt;style" not in cleaned
    png = sanitize.clean_output(nbformat.v4.new_output(
        "display_data", data={"image/png": hostile.PNG, "text/plain": "fig"},
        metadata={"image/png": {"width": 300, "height": 200}}))
    assert png["data"]["image/png"] == hostile.PNG and png["metadata"] == {"image/png": {"width": 300, "height": 200}}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([1, 2]), ax.imshow([[0, 1], [1, 0]]), ax.set_title("a < b & c")
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = sanitize.clean_output(nbformat.v4.new_output("display_data", data={"image/svg+xml": buf.getvalue()}))
    assert svg["data"]["image/svg+xml"] == buf.getvalue()  # matplotlib's SVG is inert: kept as it is


def test_what_a_notebook_claims_about_itself_is_dropped():
    nb = hostile.smuggled_submission(nbformat.v4.new_notebook(cells=[_written()]), PORT)
    png_cell = nbformat.v4.new_markdown_cell("![ok](attachment:ok.png)")
    png_cell["attachments"] = {"ok.png": {"image/png": hostile.PNG, "text/html": "<script>x</script>"}}
    nb.cells.append(png_cell)
    sanitize.sanitize_notebook(nb)
    assert "widgets" not in nb.metadata
    assert all("trusted" not in c.metadata for c in nb.cells)
    assert [c.get("attachments") for c in nb.cells if c.get("attachments")] == [{"ok.png": {"image/png": hostile.PNG}}]
    assert not live_payloads(HTMLExporter().from_notebook_node(nb)[0])


def _written():
    cell = nbformat.v4.new_markdown_cell("YOUR ANSWER HERE")
    cell.metadata["nbgrader"] = {"grade_id": "written_answer", "solution": True, "grade": True, "points": 2}
    return cell


def _everything():
    """A notebook holding every payload: markdown cells and code cells with the outputs."""
    nb = nbformat.v4.new_notebook(cells=[_written()])
    hostile.markup_submission(nb, PORT)
    for name, (data, meta) in hostile.output_payloads(PORT).items():
        cell = nbformat.v4.new_code_cell(f"# {name}")
        cell.outputs = [nbformat.v4.new_output("display_data", data=copy.deepcopy(data), metadata=copy.deepcopy(meta))]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _course_config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(COURSE)).load_config()


@pytest.mark.parametrize("template", ["classic", "lab"])
def test_html_export_with_the_course_configuration_runs_nothing(template):
    nb = _everything()
    plain, _ = HTMLExporter(template_name=template).from_notebook_node(copy.deepcopy(nb))
    # the payloads are live in a plain export (so this test can fail) ...
    assert {"md-script", "md-img-onerror", "md-svg-onload", "out-html-script", "out-javascript",
            "out-png-width"} <= live_payloads(plain)
    cfg = _course_config()
    cfg.HTMLExporter.template_name = template
    safe, _ = HTMLExporter(config=cfg).from_notebook_node(copy.deepcopy(nb))
    # ... and none is in the export the course's configuration makes
    assert live_payloads(safe) == set()
    assert "PWNED-md-script" in safe  # the written answer is still there, as text


def test_the_filters_alone_leave_only_image_metadata_to_the_preprocessor():
    """Without the preprocessor, the filters and ``sanitize_html`` clean all markup; what is left is
    an image's width, which nbconvert's templates write unquoted into the <img> tag: the
    preprocessor keeps only numeric sizes."""
    cfg = _course_config()
    cfg.HTMLExporter.preprocessors = []
    safe, _ = HTMLExporter(config=cfg).from_notebook_node(_everything())
    assert live_payloads(safe) == {"out-png-width"}


def test_sanitising_comes_after_the_grades_are_saved():
    steps = list(_course_config().Autograde.autograde_preprocessors)
    at = steps.index("grader.sanitize.SanitizeNotebook")
    assert at > steps.index("nbgrader.preprocessors.SaveAutoGrades")
    assert at > steps.index("grader.execute.GuardedExecute")


# ----------------------------------------------------------------------------------------------
# markup written by someone who has read the sanitiser: parser tricks, each cleaned to nothing live
# and none counted as inert (so a markdown cell holding one is shown as text)

TRICKS = {
    "entity-javascript-link": '<a href="&#106;&#x61;vascript&colon;{js}">see</a>',
    "tab-in-scheme": '<a href="java&#x09;script:{js}">see</a>',
    "mixed-case": '<ScRiPt>{js}</sCrIpT><IMG SRC=x OnErRoR="{js}">',
    "svg-script": "<svg><script>{js}</script></svg>",
    "svg-style-breakout": '<svg><style><img src=x onerror="{js}"></style></svg>',
    "math-mglyph": '<math><mi><mglyph><style><img src=x onerror="{js}"></style></mglyph></mi></math>',
    "math-mtext-comment": ('<math><mtext><table><mglyph><style><!--</style>'
                           '<img title="--&gt;&lt;img src=1 onerror=&quot;{js}&quot;&gt;">'),
    "comment-bang": '<!-- --!><img src=x onerror="{js}"> -->',
    "comment-abrupt": '<!--><img src=x onerror="{js}">-->',
    "comment-hides-script": "<!-- --!><script>{js}</script><!-- -->",
    "noscript": '<noscript><p title="</noscript><img src=x onerror=&quot;{js}&quot;>"></noscript>',
    "unclosed-tag": 'Look: <b onclick="{js}"\ntitle="x">bold',
    "unclosed-attribute": '<b title="x>y<img src=x onerror={js}>',
    "nested-script": "<scr<script>x</script>ipt>{js}</script>",
    "data-link": '<a href="data:text/html,<script>{js}</script>">see</a>',
}
# the ones a browser runs as they are (by the test's own parser, as a browser's)
LIVE_TRICKS = {"mixed-case", "svg-script", "svg-style-breakout", "math-mglyph", "comment-bang", "comment-abrupt",
               "comment-hides-script", "noscript", "unclosed-tag", "data-link"}


def _trick(name: str) -> str:
    return TRICKS[name].replace("{js}", hostile.script(name, PORT))


def test_the_tricks_are_live_as_written():
    assert {name for name in TRICKS if live_payloads(_trick(name)) == {name}} == LIVE_TRICKS
    # (the entity-encoded scheme is javascript: once a browser reads the entities)
    href = re.search(r'href="([^"]*)"', _trick("entity-javascript-link")).group(1)
    assert __import__("html").unescape(href).startswith("javascript:")


@pytest.mark.parametrize("name", list(TRICKS))
def test_a_parser_trick_is_never_inert_and_cleans_to_nothing_live(name):
    text = _trick(name)
    assert not sanitize.inert(text)
    cleaned = sanitize.clean_html(text)
    assert not live_payloads(cleaned) and not re.search(r"<(script|svg|math|style|iframe|object)\b|\son\w+=", cleaned, re.I)
    assert "javascript" not in cleaned.replace(hostile.script(name, PORT), "")  # only where it is text
    shown = sanitize.clean_markdown(text)
    if not sanitize.inert(sanitize._render_markdown(text)):
        assert shown != text and text in shown
    assert not live_payloads(sanitize.markdown2html({"cell": {}, "resources": {}}, shown))


@pytest.mark.parametrize("text", [
    "<p>one<p>two", "<table><tr><td>1</td></tr></table>", "a note <!-- to myself --> here",
    "<B>Bold</B> and H<SUB>2</SUB>O", "[the docs](https://example.org/a?b=1&c=2) and R&D",
    "<details open><summary>more</summary>x</details>",
])
def test_sloppy_but_harmless_markup_stays_as_written(text):
    assert sanitize.clean_markdown(text) == text


@pytest.mark.parametrize("text", ["<b>unclosed bold", "<b><p>misnested</b> tags</p>", "a stray</p> end tag"])
def test_markup_a_browser_must_repair_is_shown_as_text(text):
    """A browser rebuilds such markup into a tree the text does not spell out; the check does not
    guess what it builds, so the answer is shown verbatim (and still reads as written)."""
    shown = sanitize.clean_markdown(text)
    assert shown != text and text in shown


SVG_TRICKS = {
    "svg-entity-css": "<style>*{fill:&#117;rl(http://127.0.0.1:9/hit/svg-entity-css)}</style>",
    "svg-title-breakout": '<title><img src=x onerror="{js}"></title>',
    "svg-comment": '<!-- --!><img src=x onerror="{js}"> -->',
    "svg-remote-fill": '<rect width="4" height="4" fill="url(http://127.0.0.1:9/hit/svg-remote-fill#a)"/>',
    "svg-unclosed-style": "<style>*{fill:red}",
    "svg-foreign": '<foreignObject><div onclick="{js}">x</div></foreignObject>',
}


@pytest.mark.parametrize("name", list(SVG_TRICKS))
def test_an_svg_trick_is_removed(name):
    svg = ('<svg xmlns="http://www.w3.org/2000/svg">' + SVG_TRICKS[name].replace("{js}", hostile.script(name, PORT))
           + "</svg>")
    assert not sanitize.inert(svg, svg=True)
    out = sanitize.clean_output(nbformat.v4.new_output("display_data", data={"image/svg+xml": svg}))
    assert "image/svg+xml" not in out["data"] and "removed output" in out["data"]["text/plain"]


# ----------------------------------------------------------------------------------------------
# the feedback pages' Content-Security-Policy


def _policy(page: str) -> dict:
    """The directives of the Content-Security-Policy <meta> that opens the page's <head>."""
    from html.parser import HTMLParser

    class FirstInHead(HTMLParser):
        found, in_head = None, False

        def handle_starttag(self, tag, attrs):
            if tag == "head":
                self.in_head = True
            elif self.in_head and self.found is None:
                self.found = (tag, dict(attrs))

    reader = FirstInHead()
    reader.feed(page)
    tag, attrs = reader.found
    assert tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy", reader.found
    return {d.split()[0]: d.split()[1:] for d in attrs["content"].split(";") if d.strip()}


def test_a_feedback_page_allows_no_script():
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    cfg = _course_config()
    feedback = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)
    assert feedback.exporter_class is sanitize.FeedbackExporter  # what generate_feedback uses
    exporter = feedback.exporter_class(config=feedback.config)
    assert exporter.template_name == "feedback"
    nb = _everything()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata.nbgrader["score"] = 0
    resources = {"nbgrader": {"notebook": "warmup", "score": 0, "max_score": 2, "late_penalty": 0}}
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    policy = _policy(page)
    assert policy.get("script-src", policy["default-src"]) == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["base-uri"] == policy["form-action"] == ["'none'"]
    assert policy["img-src"] == ["data:"] and policy["style-src"] == ["'unsafe-inline'"]
    assert not any("unsafe-eval" in v or "*" in v for values in policy.values() for v in values)
    # nothing for the policy to block: the template's MathJax loader and icon font are gone, and the
    # submission's markup is sanitised as on every other page
    assert "<script" not in page.lower() and "@font-face" not in page
    assert live_payloads(page) == set() and "PWNED-md-script" in page
    with pytest.raises(ValueError):
        sanitize.with_policy("<html><body>no head</body></html>")
