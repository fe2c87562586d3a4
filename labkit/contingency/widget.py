"""The table explorer: the 2x2 table of one (D run, M, step) with example images in each cell.
:func:`contingency_view` is the pure logic; :func:`contingency_widget` a thin ipywidgets wrapper."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from ..data.core import Data
from ..validation import check_positive_int
from .run import ContingencyRun
from .table import CELL_NAMES, Rates, rates


def show_cells(images, run: ContingencyRun, m=None, step: int | None = None, seed: int = 0, per_cell: int = 6,
               labels: Sequence[str] | None = None, sample_seed: int = 0):
    """The 2x2 table drawn as a grid: in each cell its count and up to ``per_cell`` test images."""
    view = contingency_view(run, m, step, seed, per_cell, sample_seed)
    return render_contingency(images, view, labels)


@dataclass
class ContingencyView:
    """What the widget shows for one (D run, M, step): the table's ``counts`` (T[d, m], [2, 2]),
    the indices of a few test examples per cell (``examples``: cell ``"00" .. "11"`` -> indices)
    and the ``rates`` derived from the counts."""

    m_name: str
    step: int
    epoch: float
    counts: np.ndarray
    examples: dict[str, np.ndarray]
    rates: Rates


def contingency_view(run: ContingencyRun, m=None, step: int | None = None, seed: int = 0, per_cell: int = 6,
              sample_seed: int = 0) -> ContingencyView:
    """The widget's pure logic: the table of one seed at a recorded step and a few examples per cell
    (drawn at random, reproducibly, from the cell)."""
    check_positive_int(per_cell, "per_cell", 0)
    if not 0 <= seed < run.n_seeds:
        raise ValueError(f"seed index {seed} is out of range: the run holds {run.n_seeds} seed(s)")
    name, _ = run._m(m)
    i = len(run.steps) - 1 if step is None else run.index_of(step)
    cells = run.cells(m, int(run.steps[i]), seed)
    rng = np.random.default_rng(sample_seed)
    examples = {k: np.sort(rng.choice(v, size=min(per_cell, len(v)), replace=False)) if len(v) else v
                for k, v in cells.items()}
    counts = run.counts(m, int(run.steps[i]), seed)
    return ContingencyView(name, int(run.steps[i]), float(run.epochs[i]), counts, examples, rates(counts))


def render_contingency(images, view: ContingencyView, labels: Sequence[str] | None = None):
    """Draw a :class:`ContingencyView`: a 2x2 grid of panels, rows D wrong / right, columns M wrong / right."""
    import matplotlib.pyplot as plt

    from ..viz import to_hwc

    images = images.X if isinstance(images, Data) else torch.as_tensor(images)
    per = max([len(v) for v in view.examples.values()] + [1])
    ncols = min(per, 3)
    nrows = int(np.ceil(per / ncols))
    fig = plt.figure(figsize=(2 * 1.0 * ncols + 1.2, 2 * 1.05 * nrows + 1.0))
    sub = fig.subfigures(2, 2, wspace=0.04, hspace=0.04)
    for d in (0, 1):
        for mm in (0, 1):
            key = f"{d}{mm}"
            sf = sub[d, mm]
            sf.set_facecolor({"00": "#f6e3e3", "01": "#fbefd5", "10": "#e2eefa", "11": "#e3f3e3"}[key])
            idx = view.examples[key]
            sf.suptitle(f"T{key} = {int(view.counts[d, mm])}: {CELL_NAMES[key]}\n"
                        f"(D {'right' if d else 'wrong'}, M {'right' if mm else 'wrong'})", fontsize=8)
            axes = sf.subplots(nrows, ncols, squeeze=False, gridspec_kw={"top": 1 - 1.5 / (2.1 * nrows + 1), "hspace": 0.35})
            for k, ax in enumerate(axes.flat):
                ax.axis("off")
                if k < len(idx):
                    ax.imshow(to_hwc(images[int(idx[k])]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                    if labels is not None:
                        ax.set_title(str(labels[int(idx[k])]), fontsize=7)
    r = view.rates
    fig.suptitle(f"M = {view.m_name}, step {view.step} (epoch {view.epoch:.2f}): acc(D) {r.acc_d:.3f}, "
                 f"R+ {r.r_plus:.3f}, R− {r.r_minus:.3f}, R± {r.r_pm:.2f}", fontsize=9, y=1.02)
    return fig


def contingency_widget(runs: Mapping[str, ContingencyRun], images, labels: Sequence[str] | None = None,
                       per_cell: int = 6):
    """Choose D (a run), M and a recorded step; see the 2x2 table with example images in each cell.

    ``runs`` maps a name for D to its :class:`ContingencyRun`; ``images`` is the test Data (or its X).
    A thin wrapper (``lk.viz.picture_widget``) around :func:`contingency_view` and :func:`render_contingency`;
    what is on screen is kept as ``box.view`` (a :class:`ContingencyView`).
    """
    import ipywidgets as W

    from ..viz import fig_to_png, picture_widget

    if not runs:
        raise ValueError("runs is empty: give at least one tracked run, e.g. {'MLP': run}")
    names = list(runs)
    d_box = W.Dropdown(options=names, value=names[0], description="D")
    m_box = W.Dropdown(options=sorted(runs[names[0]].m_correct), description="M")
    steps = [int(s) for s in runs[names[0]].steps]
    step_box = W.SelectionSlider(options=steps, value=steps[-1], description="step", continuous_update=False,
                                 layout=W.Layout(width="420px"))

    def new_run(change):  # registered before the picture's own observers: options first, then one redraw
        run = runs[change["new"]]
        m_box.options = sorted(run.m_correct)
        new_steps = [int(s) for s in run.steps]
        step_box.options = new_steps
        step_box.value = new_steps[-1]

    d_box.observe(new_run, names="value")

    def render(d, m, step):
        run = runs[d]
        if step not in set(int(s) for s in run.steps) or m not in run.m_correct:
            step, m = int(run.steps[-1]), sorted(run.m_correct)[0]  # mid-switch between two runs
        view = contingency_view(run, m, step, per_cell=per_cell)
        r, t = view.rates, view.counts
        text = (f"D = {d}, M = {view.m_name}, step {view.step} (epoch {view.epoch:.2f}): "
                f"T00 {int(t[0, 0])}, T01 {int(t[0, 1])}, T10 {int(t[1, 0])}, T11 {int(t[1, 1])}; "
                f"acc(D) {r.acc_d:.3f}, R+ {r.r_plus:.3f}, R\u2212 {r.r_minus:.3f}, R\u00b1 {r.r_pm:.2f}")
        return fig_to_png(render_contingency(images, view, labels)), text, view

    return picture_widget({"d": d_box, "m": m_box, "step": step_box}, render, css_class="labkit-contingency-explorer",
                          layout=lambda controls, _: [W.HBox([controls["d"], controls["m"]]), controls["step"]])
