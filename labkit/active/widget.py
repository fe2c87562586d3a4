"""Stepping through active learning on two moons: pick a strategy and a round, see the labelled
points, the batch the strategy queries next, the model's boundary and the accuracy so far.
:func:`moons_rounds` computes everything once, :func:`active_view` is the pure logic,
:func:`active_widget` the thin ipywidgets wrapper."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.core import Data
from ..models import make_model
from ..results import Result
from ..validation import check_option, check_positive_int
from .rounds import ActiveRun, run_active
from .strategies import STRATEGIES


@dataclass
class MoonsRounds(Result):
    """Every round of :func:`run_active` on two moons, for one seed.

    Attributes
    ----------
    pool : Data, the two-moons pool the strategies query from
    grid : (gx, gy), the plane's grid coordinates, each [G, G]
    grid_probs : dict strategy -> array [R + 1, G, G], the predicted p(lower moon) on the grid
        after each round
    run : :class:`ActiveRun`, the accuracies and every strategy's queries
    """

    pool: Data
    grid: tuple[np.ndarray, np.ndarray]
    grid_probs: dict[str, np.ndarray]
    run: ActiveRun

    def table(self) -> pd.DataFrame:
        """The run's test accuracies: one row per strategy and round (columns strategy, seed,
        round, labels, accuracy), as :meth:`ActiveRun.table`."""
        return self.run.table()


@dataclass
class ActiveView:
    """What the widget shows for one strategy after ``round`` rounds."""

    strategy: str
    round: int
    labelled: np.ndarray
    queried: np.ndarray
    accuracy: np.ndarray
    labels: np.ndarray


def moons_rounds(strategies=STRATEGIES, seed: int = 0, n: int = 400, n_test: int = 1000, n_initial: int = 6,
                 batch: int = 4, rounds: int = 8, steps: int = 150, grid: int = 60) -> MoonsRounds:
    """Run each strategy on a two-moons pool of ``n`` points (noise 0.2) from ``n_initial``
    labels, ``batch`` queries per round, an MLP retrained each round (all strategies at once).

    Returns
    -------
    :class:`MoonsRounds`: the pool, each strategy's boundary on a ``grid`` × ``grid`` grid after
    every round, and the :class:`ActiveRun`; ``table()`` gives the accuracy per strategy and round
    """
    from ..data.embedded import make_moons

    grid = check_positive_int(grid, "grid", 10)
    pool, test = make_moons(n, noise=0.2, seed=seed), make_moons(n_test, noise=0.2, seed=seed + 1000)
    lo, hi = pool.X.min(0).values.numpy() - 0.4, pool.X.max(0).values.numpy() + 0.4
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    G = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    probs = {a: [] for a in strategies}

    def keep(r, runs, pairs):
        p = runs.predict_logits(G).softmax(-1)[..., 1].cpu().numpy().reshape(len(pairs), grid, grid)
        for m, (a, _) in enumerate(pairs):
            probs[a].append(p[m])

    build = lambda: make_model("mlp", pool, hidden=(32, 32))  # noqa: E731
    run = run_active(build, pool, test, strategies=strategies, seeds=[seed], n_initial=n_initial, batch=batch,
                     rounds=rounds, steps=steps, batch_size=32, per_class=True, lr=1e-2, on_round=keep)
    return MoonsRounds(pool, (gx, gy), {a: np.stack(v) for a, v in probs.items()}, run)


def active_view(data: MoonsRounds, strategy: str, round: int) -> ActiveView:
    """The state after ``round`` rounds: labelled indices, the batch queried next (empty after the
    last round) and the accuracy curve up to this round."""
    run = data.run
    check_option(strategy, "strategy", run.strategies)
    R = len(run.labels) - 1
    if not 0 <= int(round) <= R:
        raise ValueError(f"round must be in 0..{R}, got {round}")
    r = int(round)
    steps = run.pools[strategy, run.seeds[0]]
    labelled = np.concatenate(steps[:r + 1])
    queried = steps[r + 1] if r < R else np.array([], dtype=int)
    acc = run.accuracy[run.strategies.index(strategy), 0, :r + 1]
    return ActiveView(strategy, r, labelled, queried, acc, run.labels[:r + 1])


def render_active(data: MoonsRounds, view: ActiveView):
    """Left: the pool, the labelled points, the next batch (circled) and the boundary; right: the
    accuracy curve so far."""
    import matplotlib.pyplot as plt

    X, y = data.pool.X.numpy(), data.pool.y.numpy()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1.4, 1]})
    gx, gy = data.grid
    ax.contourf(gx, gy, data.grid_probs[view.strategy][view.round], levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                alpha=0.35)
    ax.contour(gx, gy, data.grid_probs[view.strategy][view.round], levels=[0.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c="lightgrey", s=8)
    lab = view.labelled
    ax.scatter(X[lab, 0], X[lab, 1], c=np.where(y[lab] == 1, "tab:red", "tab:blue"), s=40, edgecolors="k")
    if len(view.queried):
        q = view.queried
        ax.scatter(X[q, 0], X[q, 1], s=160, facecolors="none", edgecolors="gold", linewidths=2.5, label="queried next")
        ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"{view.strategy}, round {view.round}: {len(lab)} labels")
    ax.set_xticks([])
    ax.set_yticks([])
    ax2.plot(view.labels, view.accuracy, "o-")
    ax2.set_xlim(data.run.labels[0] - 1, data.run.labels[-1] + 1)
    ax2.set_ylim(0.5, 1.0)
    ax2.set_xlabel("labelled examples")
    ax2.set_ylabel("test accuracy")
    fig.tight_layout()
    return fig


def active_widget(data: MoonsRounds):
    """A strategy menu and a round slider over :func:`moons_rounds`' results."""
    import ipywidgets as w

    from ..viz import fig_to_png, picture_widget

    run = data.run
    strategy = w.Dropdown(options=list(run.strategies), value=run.strategies[0], description="strategy")
    rnd = w.IntSlider(value=0, min=0, max=len(run.labels) - 1, description="round", continuous_update=False)

    def render(strategy, round):
        view = active_view(data, strategy, round)
        png = fig_to_png(render_active(data, view))
        text = f"{strategy}: {len(view.labelled)} labels, test accuracy {view.accuracy[-1]:.3f}"
        return png, text, view

    return picture_widget({"strategy": strategy, "round": rnd}, render, css_class="lk-active")


__all__ = ["MoonsRounds", "ActiveView", "moons_rounds", "active_view", "render_active", "active_widget"]
