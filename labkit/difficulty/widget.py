"""The score browser: pure selection logic (:func:`select_examples`), its picture
(:func:`render_selection`) and a thin ipywidgets wrapper (:func:`browse`)."""
from __future__ import annotations

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


def render_selection(data: Data, table: pd.DataFrame, score: str, slice: str = "hardest", n: int = 16,
                     other: pd.DataFrame | None = None, other_name: str = "other model") -> bytes:
    """PNG bytes of the images :func:`select_examples` picks, titled with the given label and the
    score (or the rank difference); red titles mark injected label flips."""
    rows = select_examples(table, score, slice, n, other)
    if "disagreement" in rows:
        values, label = rows["disagreement"], "Δrank "
        title = f"largest disagreement on {score} (Δrank > 0: harder here than for the {other_name})"
    else:
        values, label = rows[score], f"{score} "
        title = f"{slice} {len(rows)} by {score}"
    fig = show_examples(data, rows.index.to_numpy(), values.to_numpy(), label, title=title)
    return fig_to_png(fig)


def browse(data: Data, table: pd.DataFrame, other: pd.DataFrame | None = None, n: int = 16,
           other_name: str = "other model"):
    """A browser: choose a score and a slice (the hardest, the easiest, or — given ``other``, the
    table of another architecture — the examples the two disagree on most) and see the images with
    their given labels. A thin ipywidgets wrapper around :func:`render_selection`; returns the
    widget (the last expression of a notebook cell displays it)."""
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

    def draw(*_):
        picture.value = render_selection(data, table, score_w.value, slice_w.value, n_w.value, other, other_name)

    for w in (score_w, slice_w, n_w):
        w.observe(draw, names="value")
    draw()
    box = widgets.VBox([widgets.HBox([score_w, n_w]), slice_w, picture])
    box.add_class("labkit-difficulty-browser")
    return box
