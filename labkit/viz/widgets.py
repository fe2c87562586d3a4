"""The widget skeleton every lecture uses: controls -> a pure function -> a picture.

A lecture writes the pure function (tested without a browser) and calls :func:`picture_widget`
with its controls; the skeleton wires them up, redraws on every change, shows a status line and
keeps what is on screen in ``box.view`` for tests. Works with ipywidgets 7 and 8.
"""
from __future__ import annotations

from typing import Callable, Mapping


def picture_widget(controls: Mapping, render: Callable, *, buttons: Mapping | None = None, css_class: str = "",
                   summary_class: str = "", layout: Callable | None = None):
    """A VBox of ``controls`` (name -> ipywidgets control), a status line and a PNG picture.

    ``render(**values)`` receives the controls' current values (and ``clicks``, a dict button
    name -> how often it was pressed) and returns ``(png_bytes, summary_html)`` or
    ``(png_bytes, summary_html, view)``; ``view`` is kept as ``box.view``. ``buttons`` maps names
    to ipywidgets Buttons. ``layout(rows)`` may arrange the controls (default: one row).
    """
    import ipywidgets as w

    buttons = dict(buttons or {})
    clicks = {name: 0 for name in buttons}
    summary = w.HTML(layout=w.Layout(min_height="2.5em"))
    picture = w.Image(format="png")
    items = list(controls.values()) + list(buttons.values())
    rows = layout(controls, buttons) if layout else [w.HBox(items)]
    box = w.VBox(rows + [summary, picture])
    if css_class:
        box.add_class(css_class)
    summary_class = summary_class or (f"{css_class}-summary" if css_class else "")
    if summary_class:
        summary.add_class(summary_class)
    box.view = None

    def update(*_):
        summary.value = "<i>computing ...</i>"
        out = render(**{k: c.value for k, c in controls.items()}, **({"clicks": dict(clicks)} if buttons else {}))
        png, text = out[0], out[1]
        box.view = out[2] if len(out) > 2 else None
        picture.value = png
        summary.value = text

    def press(name):
        def handler(_):
            clicks[name] += 1
            update()
        return handler

    for c in controls.values():
        c.observe(update, names="value")
    for name, b in buttons.items():
        b.on_click(press(name))
    update()
    return box
