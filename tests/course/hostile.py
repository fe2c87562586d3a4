"""Submissions that try to run script in the instructor's browser, and one that behaves.

Every payload runs :func:`script` with its own name when it gets to run: it sets
``document.title``, asks a listener on 127.0.0.1 for ``/hit/<name>``, and writes
``pwned-<name>.txt`` through the Jupyter contents API with the instructor's session. The browser
test looks for all three; the unit tests feed the same payloads to the sanitiser.
"""
from __future__ import annotations

import base64
import re
import textwrap

import nbformat
from bleach import html5lib_shim

# a 1x1 PNG
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def script(name: str, port: int) -> str:
    """JavaScript without spaces or double quotes (it must fit an unquoted attribute too)."""
    return ("document.title='PWNED-" + name + "';"
            "new/**/Image().src='http://127.0.0.1:" + str(port) + "/hit/" + name + "';"
            # a page of JupyterLab sets the _xsrf cookie that writing needs
            "fetch('/lab').then(()=>fetch('/api/contents/pwned-" + name + ".txt',{method:'PUT',headers:"
            "{'Content-Type':'application/json','X-XSRFToken':(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]"
            "||''},body:JSON.stringify({type:'file',format:'text',content:'" + name + "'})}))"
            ".then(r=>r.status)")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def markdown_payloads(port: int) -> dict:
    """name -> markdown (a written answer or a cell a student adds)."""
    js = lambda n: script(n, port)  # noqa: E731
    return {
        "md-script": f"My answer.\n\n<script>{js('md-script')}</script>\n",
        "md-img-onerror": f'Digit 8 is hardest. <img src="nope.png" onerror="{js("md-img-onerror")}">',
        "md-svg-onload": f'<svg onload="{js("md-svg-onload")}"><circle r="4"/></svg>',
        "md-iframe-srcdoc": f'<iframe srcdoc="<script>{js("md-iframe-srcdoc")}</script>"></iframe>',
        "md-javascript-link": f"[see my figure](javascript:{js('md-javascript-link')})",
        "md-data-iframe": '<iframe src="data:text/html;base64,'
                          + _b64(f"<script>{js('md-data-iframe')}</script>") + '"></iframe>',
        "md-object": '<object data="data:text/html;base64,' + _b64(f"<script>{js('md-object')}</script>")
                     + '"></object>',
        "md-details-ontoggle": f'<details open ontoggle="{js("md-details-ontoggle")}"><summary>x</summary></details>',
    }


def output_payloads(port: int) -> dict:
    """name -> (display data, output metadata) an answer cell displays with ``display(..., raw=True)``."""
    js = lambda n: script(n, port)  # noqa: E731
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("out-svg")}"><script>{js("out-svg")}</script>'
           '<rect width="4" height="4"/></svg>')
    return {
        "out-html-script": ({"text/html": f"<b>result</b><script>{js('out-html-script')}</script>",
                             "text/plain": "result"}, {}),
        "out-html-onerror": ({"text/html": f'<img src="x" onerror="{js("out-html-onerror")}">'}, {}),
        "out-html-isolated": ({"text/html": f"<script>{js('out-html-isolated')}</script>"},
                              {"text/html": {"isolated": True}}),
        "out-javascript": ({"application/javascript": js("out-javascript"), "text/plain": "js"}, {}),
        "out-widget": ({"application/vnd.jupyter.widget-view+json":
                        {"model_id": "0123456789abcdef", "version_major": 2, "version_minor": 0},
                        "text/plain": "a widget"}, {}),
        "out-markdown": ({"text/markdown": f'<img src="x" onerror="{js("out-markdown")}">'}, {}),
        "out-svg": ({"image/svg+xml": svg}, {}),
        "out-png-width": ({"image/png": PNG, "text/plain": "png"},
                          {"image/png": {"width": "1 onload=" + js("out-png-width")}}),
    }


def _cell_id(i: int) -> str:
    return f"hostile-{i}"


def markup_submission(nb, port: int):
    """The written answer and added markdown cells carry every markdown payload."""
    payloads = markdown_payloads(port)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "written_answer")
    answer.source = "\n\n".join(payloads.values())
    at = nb.cells.index(answer)
    for i, text in enumerate(payloads.values()):
        cell = nbformat.v4.new_markdown_cell(text)
        cell["id"] = _cell_id(i)
        nb.cells.insert(at + 1 + i, cell)
    return nb


def outputs_code(port: int) -> str:
    lines = ["from IPython.display import display"]
    for name, (data, meta) in output_payloads(port).items():
        lines.append(f"display({data!r}, metadata={meta!r}, raw=True)  # {name}")
    return "\n".join(lines)


def outputs_submission(nb, port: int):
    """A cell that displays every output payload, added after the imports (answers untouched)."""
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "imports")
    cell = nbformat.v4.new_code_cell(outputs_code(port))
    cell["id"] = "hostile-outputs"
    nb.cells.insert(at + 1, cell)
    return nb


def smuggled_submission(nb, port: int):
    """What a notebook can claim about itself: trusted cells, widget state, attachments that are
    HTML or SVG with script, and stale outputs (nbgrader clears them before executing)."""
    js = script("smuggled-attachment", port)
    evil_svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js}"><script>{js}</script></svg>'
    cell = nbformat.v4.new_markdown_cell("![figure](attachment:figure.svg) ![page](attachment:page.html)")
    cell["id"] = "hostile-attachment"
    cell["attachments"] = {"figure.svg": {"image/svg+xml": _b64(evil_svg)},
                           "page.html": {"text/html": _b64(f"<script>{script('smuggled-html', port)}</script>")}}
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "written_answer")
    answer["attachments"] = {"a.svg": {"image/svg+xml": _b64(evil_svg)}}
    answer.source = "See ![my plot](attachment:a.svg)"
    nb.cells.insert(nb.cells.index(answer), cell)
    stale = nbformat.v4.new_code_cell("1")
    stale["id"] = "hostile-stale"
    stale.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": f"<script>{script('smuggled-stale', port)}</script>"})]
    nb.cells.insert(nb.cells.index(cell), stale)
    for c in nb.cells:
        c.metadata["trusted"] = True
    nb.metadata["trusted"] = True
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
        "state": {"0123456789abcdef": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                                        "model_module_version": "2.0.0",
                                        "state": {"value": f"<img src=x onerror=\"{script('smuggled-widget', port)}\">"}}}}}
    return nb


TIDY_ANSWER = textwrap.dedent("""\
    Digit **8** is the hardest: its accuracy is lowest, $a_8 < a_k$ for every other $k$, because
    it shares strokes with 3 and 9.

    | digit | accuracy |
    |---|---|
    | 3 | 0.97 |
    | 8 | 0.91 |
    """)

# grading runs matplotlib without the inline backend: the figure is displayed as a PNG explicitly
TIDY_CODE = textwrap.dedent("""\
    import io
    import matplotlib.pyplot as plt
    import pandas as pd
    from IPython.display import Image, display
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0.9, 0.95, 0.97])
    ax.set_title("tidy figure")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    display(Image(buf.getvalue()))
    pd.DataFrame({"digit": [3, 8], "accuracy": [0.97, 0.91]})
    """)


def tidy_submission(nb):
    """The solution, a figure and a table after the imports, and a written answer with math and a table."""
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "written_answer")
    answer.source = TIDY_ANSWER
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "imports")
    cell = nbformat.v4.new_code_cell(TIDY_CODE)
    cell["id"] = "tidy-figure"
    nb.cells.insert(at + 1, cell)
    return nb


def names(port: int = 0) -> list:
    return [*markdown_payloads(port), *output_payloads(port), "smuggled-attachment", "smuggled-html",
            "smuggled-stale", "smuggled-widget"]


def _tree(html):
    parser = html5lib_shim.BleachHTMLParser(tags=None, strip=False, consume_entities=False,
                                            namespaceHTMLElements=False)
    return parser.parseFragment(html)


def live_payloads(html: str) -> set:
    """Names of payloads whose script a browser could run from ``html``: in script elements, event
    handler attributes, javascript:/data: URLs, iframes, objects and embeds."""
    found = set()
    for el in _tree(html).iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.rsplit("}", 1)[-1].lower()
        text = "".join(el.itertext()) if tag == "script" else ""
        values = [v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1].lower().startswith("on")]
        values += [v for k, v in el.attrib.items()
                   if k.rsplit("}", 1)[-1].lower() in ("href", "src", "data", "srcdoc", "action")
                   and re.sub(r"\s", "", v).lower().startswith(("javascript:", "data:text", "<"))]
        if tag in ("iframe", "object", "embed") or tag == "script":
            values += [text, *el.attrib.values()]
        for v in values:
            if "data:text/html;base64," in v:
                v += base64.b64decode(v.split("base64,", 1)[1].split('"')[0] + "==").decode(errors="replace")
            found.update(re.findall(r"PWNED-([\w-]+)", v))
    return found
