"""The score browser: pure logic (:func:`examples_view`, on :func:`select_examples`), its figure
(:func:`render_examples`) and a thin ipywidgets wrapper (:func:`examples_widget`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.core import Data
from ..validation import check_option, check_positive_int
from ..viz import fig_to_png
from .agreement import architecture_disagreement
from .plots import show_examples
from .scores import HARDER

SLICES = ("hardest", "easiest", "disagreement")


def select_examples(table: pd.DataFrame, score: str, slice: str = "hardest", n: int = 16,
                    other: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``n`` rows of a score table to look at.

    ``hardest`` / ``easiest``: by the seed-mean ``score`` (oriented with :data:`HARDER`).
    ``disagreement``: the examples whose rank percentile of ``score`` differs most between
    ``table`` and ``other`` (another architecture's table of the same examples); the returned
    frame has a ``disagreement`` column (positive = harder in ``table``).
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame from DifficultyScores.table(), got {type(table).__name__}")
    check_option(slice, "slice", SLICES)
    if score not in table.columns or score not in HARDER:
        raise ValueError(f"unknown score {score!r}; the table has "
                         f"{', '.join(c for c in table.columns if c in HARDER)}")
    n = check_positive_int(n, "n")
    h = HARDER[score] * table[score].to_numpy()
    if slice == "disagreement":
        if other is None:
            raise ValueError("slice='disagreement' needs `other`, the score table of another architecture")
        if len(other) != len(table) or score not in other.columns:
            raise ValueError("`other` must score the same examples with the same score")
        d = architecture_disagreement(h, HARDER[score] * other[score].to_numpy())
        order = np.argsort(-np.abs(d), kind="stable")[:n]
        return table.iloc[order].assign(disagreement=d[order])
    order = np.argsort(-h if slice == "hardest" else h, kind="stable")[:n]
    return table.iloc[order]


@dataclass
class ExamplesView:
    """What the browser shows for one choice of its controls: the rows of the score table picked by
    :func:`select_examples`, the value written under each image and the figure's title."""

    score: str
    slice: str
    rows: pd.DataFrame = field(repr=False)
    values: np.ndarray = field(repr=False)
    value_name: str
    title: str


def examples_view(table: pd.DataFrame, score: str, slice: str = "hardest", n: int = 16,
                  other: pd.DataFrame | None = None, other_name: str = "other model") -> ExamplesView:
    """The browser's logic, without any widget: which examples to show and how to title them."""
    rows = select_examples(table, score, slice, n, other)
    if "disagreement" in rows:
        return ExamplesView(score, slice, rows, rows["disagreement"].to_numpy(), "Δrank ",
                            f"largest disagreement on {score} (Δrank > 0: harder here than for the {other_name})")
    return ExamplesView(score, slice, rows, rows[score].to_numpy(), f"{score} ", f"{slice} {len(rows)} by {score}")


def render_examples(data: Data, view: ExamplesView):
    """The figure of a view: the images with their given label and the score (or the rank
    difference); red titles mark injected label flips."""
    return show_examples(data, view.rows.index.to_numpy(), view.values, view.value_name, title=view.title)


def examples_widget(data: Data, table: pd.DataFrame, other: pd.DataFrame | None = None, n: int = 16,
                    other_name: str = "other model"):
    """A browser: choose a score and a slice (the hardest, the easiest, or — given ``other``, the
    table of another architecture — the examples the two disagree on most) and see the images with
    their given labels. A thin ipywidgets wrapper around :func:`examples_view`; returns the widget
    (the last expression of a notebook cell displays it), its last view as ``.view``."""
    import ipywidgets as widgets
    if len(table) != len(data):
        raise ValueError(f"the table has {len(table)} rows but the data {len(data)} examples")
    names = [c for c in table.columns if c in HARDER and (other is None or c in other.columns)]
    if not names:
        raise ValueError("the table holds no score that can be shown (and, with `other`, that both tables hold)")
    slices = list(SLICES) if other is not None else ["hardest", "easiest"]
    score_w = widgets.Dropdown(options=names, value="el2n" if "el2n" in names else names[0], description="score")
    slice_w = widgets.ToggleButtons(options=slices, description="slice")
    n_w = widgets.IntSlider(value=n, min=4, max=48, step=4, description="images", continuous_update=False)
    picture = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox([score_w, n_w]), slice_w, picture])

    def draw(*_):
        box.view = examples_view(table, score_w.value, slice_w.value, n_w.value, other, other_name)
        picture.value = fig_to_png(render_examples(data, box.view))

    for w in (score_w, slice_w, n_w):
        w.observe(draw, names="value")
    draw()
    box.add_class("labkit-difficulty-browser")
    return box
