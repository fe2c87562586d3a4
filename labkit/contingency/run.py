"""A tracked run and the curves derived from it for any classical model M (L3 §3-§6)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import nn

from ..probes.classical import Classical
from ..results import Result, Rows
from ..training import Ensemble, History
from .table import Rates, _m_correct, contingency_table, rates


@dataclass
class Curves(Result):
    """R+-, R+, R-, accuracies and tables over the recorded steps of one (D, M) pair
    (:meth:`ContingencyRun.curves`).

    Attributes
    ----------
    m_name : str, the classical model M
    steps, epochs : arrays [R], the recorded steps and the same in epochs
    tables : float array [R, 2, 2], the table T[d, m] at each recorded step, mean over seeds
    rates : Rates, acc(M), acc(D), R+, R- and R+- at each recorded step (arrays [R])
    dense_steps : int, the last step of the every-step window
    steps_per_epoch, n_seeds : int
    """

    m_name: str
    steps: np.ndarray
    epochs: np.ndarray
    tables: np.ndarray  # [R, 2, 2], mean over seeds
    rates: Rates
    dense_steps: int
    steps_per_epoch: int
    n_seeds: int

    def table(self) -> pd.DataFrame:
        """One row per recorded step with the columns ``step``, ``epoch``, ``T00``, ``T01``,
        ``T10``, ``T11`` (mean over seeds), ``acc_M``, ``acc_D``, ``R+``, ``R-`` and ``R+-``."""
        r = self.rates
        return pd.DataFrame({"step": self.steps, "epoch": self.epochs, "T00": self.tables[:, 0, 0],
                             "T01": self.tables[:, 0, 1], "T10": self.tables[:, 1, 0], "T11": self.tables[:, 1, 1],
                             "acc_M": r.acc_m, "acc_D": r.acc_d, "R+": r.r_plus, "R-": r.r_minus, "R+-": r.r_pm})

    def summary(self) -> dict[str, float | int | str]:
        """start, peak (value, step, epoch, D's accuracy there), final R+-, T01 at the end (mean over
        seeds), acc(M) and final acc(D)."""
        r = self.rates.r_pm
        finite = np.where(np.isfinite(r), r, -np.inf)
        i = int(np.argmax(finite))
        return {"M": self.m_name, "start": float(r[0]), "peak": float(r[i]), "peak_step": int(self.steps[i]),
                "peak_epoch": float(self.epochs[i]), "final": float(r[-1]), "final_step": int(self.steps[-1]),
                "acc_d_at_peak": float(self.rates.acc_d[i]),
                "t01_final": float(self.tables[-1, 0, 1]), "acc_m": float(self.rates.acc_m[-1]),
                "acc_d": float(self.rates.acc_d[-1]), "seeds": self.n_seeds}


@dataclass
class ContingencyRun(Result):
    """What a tracked run recorded: D's correctness per recorded step (and seed), and the Ms
    (what :func:`track` and :meth:`ContingencyTracker.result` return).

    Attributes
    ----------
    steps : int array [R], the recorded steps (0 = the untrained net)
    steps_per_epoch, total_steps, dense_steps : int, the run's length and its every-step window
    d_correct : bool array [R, S, N], D right on each test example (recorded steps, seeds, examples)
    m_correct : dict name -> bool array [N], each M right on each test example
    classical : dict name -> Classical, the Ms given as fitted classical models
    y : int array [N], the test labels
    tracking_seconds : float, the time spent recording
    model : the trained D (an nn.Module, or an Ensemble of the seeds) when :func:`track` trained it
    history : the training History when :func:`track` trained D

    ``counts(m, step, seed)`` is one table T; ``table()`` gives them all as one DataFrame.
    """

    steps: np.ndarray
    steps_per_epoch: int
    total_steps: int
    dense_steps: int
    d_correct: np.ndarray
    m_correct: dict[str, np.ndarray]
    classical: dict[str, Classical]
    y: np.ndarray
    tracking_seconds: float = 0.0
    model: nn.Module | Ensemble | None = field(default=None, repr=False)
    history: History | None = field(default=None, repr=False)

    def table(self) -> pd.DataFrame:
        """One row per (M, seed, recorded step), seed by seed in the order of the steps, with the
        columns ``M``, ``seed`` (its index in the run), ``step``, ``epoch``, ``T00``, ``T01``,
        ``T10``, ``T11`` (that seed's counts) and ``acc_D``; without any M, only ``seed``,
        ``step``, ``epoch`` and ``acc_D``."""
        R, S, _ = self.d_correct.shape
        base = {"seed": np.repeat(np.arange(S), R), "step": np.tile(self.steps, S), "epoch": np.tile(self.epochs, S)}
        acc = self.d_correct.mean(-1).T.reshape(-1)  # [S * R], seed by seed
        if not self.m_correct:
            return pd.DataFrame({**base, "acc_D": acc})
        frames = []
        for name, mc in self.m_correct.items():
            T = contingency_table(mc, self.d_correct).swapaxes(0, 1).reshape(-1, 2, 2)  # [S * R, 2, 2]
            cells = {f"T{d}{k}": T[:, d, k] for d in (0, 1) for k in (0, 1)}
            frames.append(pd.DataFrame({"M": name, **base, **cells, "acc_D": acc}))
        return pd.concat(frames, ignore_index=True)

    @property
    def epochs(self) -> np.ndarray:
        return self.steps / self.steps_per_epoch

    @property
    def n_seeds(self) -> int:
        return self.d_correct.shape[1]

    def _m(self, m) -> tuple[str, np.ndarray]:
        if isinstance(m, str):
            if m not in self.m_correct:
                raise KeyError(f"no classical model {m!r} in this run; it has {sorted(self.m_correct)}")
            return m, self.m_correct[m]
        if m is None:
            if len(self.m_correct) != 1:
                raise ValueError(f"name the classical model: this run has {sorted(self.m_correct)}")
            return next(iter(self.m_correct.items()))
        return getattr(m, "name", "M"), _m_correct(m, len(self.y), "M")

    def index_of(self, step: int) -> int:
        """The index of the last recorded step at or before ``step``."""
        i = int(np.searchsorted(self.steps, step, side="right")) - 1
        if i < 0:
            raise ValueError(f"step {step} is before the first recorded step {int(self.steps[0])}")
        return i

    def curves(self, m=None, balanced: bool = False, seed: int | None = None) -> Curves:
        """The curves of D against M (a name of this run, a Classical or a boolean vector), from the
        table averaged over seeds, or of one seed (``seed``: its index in the run).

        ``balanced=True`` gives the class-balanced variant: R+ (R-) is the mean over classes of D's
        accuracy on the M-correct (M-incorrect) examples of that class, classes with an empty subset
        left out, and acc(M), acc(D) are mean per-class accuracies. A D that answers one class for
        every input then has R+ = R- = 1/K, so R+- = 1 exactly. ``tables`` stay the plain counts.
        """
        name, mc = self._m(m)
        d = self.d_correct if seed is None else self.d_correct[:, [self._seed(seed)]]
        tables = contingency_table(mc, d).mean(1)  # [R, 2, 2], mean over seeds
        r = rates(tables)
        if balanced:
            per_class = [rates(contingency_table(mc[self.y == k], d[..., self.y == k]).mean(1))
                         for k in np.unique(self.y)]
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a class whose subset is empty: NaN, skipped
                mean = {f: np.nanmean([getattr(p, f) for p in per_class], 0)
                        for f in ("acc_m", "acc_d", "r_plus", "r_minus")}
                r = Rates(mean["acc_m"], mean["acc_d"], mean["r_plus"], mean["r_minus"],
                          np.true_divide(mean["r_plus"], mean["r_minus"]))
            name = f"{name}, class-balanced"
        return Curves(name, self.steps, self.epochs, tables, r, self.dense_steps,
                      self.steps_per_epoch, d.shape[1])

    def _seed(self, seed) -> int:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < self.n_seeds:
            raise ValueError(f"seed must be the index of a seed in this run, 0 .. {self.n_seeds - 1}, got {seed!r}")
        return int(seed)

    def counts(self, m=None, step: int | None = None, seed: int = 0) -> np.ndarray:
        """The contingency table T[d, m] (integer counts, [2, 2]) of one seed at a recorded step
        (default: the last)."""
        _, mc = self._m(m)
        i = len(self.steps) - 1 if step is None else self.index_of(step)
        return contingency_table(mc, self.d_correct[i, seed])

    def cells(self, m=None, step: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Test-set indices in each cell ``"00" .. "11"`` (D digit first) at a recorded step."""
        _, mc = self._m(m)
        i = len(self.steps) - 1 if step is None else self.index_of(step)
        d = self.d_correct[i, seed]
        return {f"{a}{b}": np.flatnonzero((d == bool(a)) & (mc == bool(b))) for a in (0, 1) for b in (0, 1)}

    def learned_step(self, seed: int = 0) -> np.ndarray:
        """Per test example, the first recorded step from which D stays right to the end
        (``inf`` if it is wrong at the end): the test-set version of L2's "iteration learned"."""
        d = self.d_correct[:, seed, :]
        stays = np.flip(np.logical_and.accumulate(np.flip(d, 0), 0), 0)  # right at this and every later step
        first = np.argmax(stays, 0)
        out = self.steps[first].astype(float)
        out[~stays[-1]] = np.inf
        return out


def alternative_shapes(curves: Curves) -> dict[str, np.ndarray]:
    """The curves R+- would have followed under the two hypotheses the experiment rules out.

    ``"flat"``: D's learning ignores what M finds easy, so R+- stays at 1. ``"steady rise"``: the
    M-correct examples keep their lead in proportion to D's progress, so R+- climbs from its start to
    its final value in step with D's accuracy, without overshooting. Returns name -> R+- [R]
    (``"flat at 1"``, ``"steady rise"``), on the recorded steps of ``curves``.
    """
    r = curves.rates
    flat = np.ones_like(r.r_pm)
    acc = r.acc_d
    span = acc[-1] - acc[0]
    progress = np.clip((acc - acc[0]) / span, 0, 1) if abs(span) > 1e-12 else np.zeros_like(acc)
    progress = np.maximum.accumulate(progress)
    rise = r.r_pm[0] + (r.r_pm[-1] - r.r_pm[0]) * progress if np.isfinite(r.r_pm[[0, -1]]).all() else flat * np.nan
    return {"flat at 1": flat, "steady rise": rise}


@dataclass
class Easiness(Rows):
    """The result of :func:`easiness_table`: ``rows`` has one row per test example with the columns
    ``m_margin`` (M's margin for the true class, when M is a fitted classical model), ``m_correct``
    and ``learned_step`` (the step from which D stays right; ``inf`` if it is wrong at the end)."""


def easiness_table(run: ContingencyRun, m, seed: int = 0) -> Easiness:
    """Per test example: M's margin for the true class, whether M is right, and the step from which
    D stays right (``learned_step``); for comparing shallow-learnability with L2's difficulty scores.

    ``m`` is a name of the run's Ms, a Classical or a boolean vector; ``seed`` the index of a seed
    in the run. Returns an :class:`Easiness` whose ``table()`` has one row per test example with
    ``m_margin`` (only when M is a Classical), ``m_correct`` and ``learned_step``.
    """
    name, mc = run._m(m)
    cl = run.classical.get(name) if isinstance(m, str) else (m if isinstance(m, Classical) else None)
    frame = pd.DataFrame({"m_correct": mc, "learned_step": run.learned_step(seed)})
    if cl is not None:
        frame.insert(0, "m_margin", cl.margin)
    return Easiness(frame)
