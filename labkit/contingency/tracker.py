"""Tracking D during training: which test examples it gets right, at scheduled steps (L3 §3).

Tracking is cheap by design: M's predictions are computed once; the tracker keeps the test set on
D's device and stores only whether D is right on each test example (one boolean per example and
recorded step), evaluating in large batches without gradients. It records every step while the
early peak forms and log-spaced steps after that.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .. import runtime
from ..data.core import Data
from ..probes.classical import Classical
from ..training import as_members, eval_mode, fit, fit_many, to_device_input
from ..validation import check_positive_int
from .run import ContingencyRun
from .table import _m_correct


def tracking_schedule(total_steps: int, dense_steps: int, n_sparse: int = 60) -> np.ndarray:
    """The steps at which to record: 0 and every step up to ``dense_steps``, then ``n_sparse``
    log-spaced steps up to ``total_steps`` (always included)."""
    total_steps = check_positive_int(total_steps, "total_steps")
    dense_steps = min(check_positive_int(dense_steps, "dense_steps", 0), total_steps)
    n_sparse = check_positive_int(n_sparse, "n_sparse", 0)
    dense = np.arange(dense_steps + 1)
    if dense_steps < total_steps and n_sparse:
        sparse = np.geomspace(max(dense_steps, 1), total_steps, n_sparse + 1).round().astype(int)
        dense = np.union1d(dense, sparse)
    return np.union1d(dense, [total_steps])


_REUSED = ("this tracker has already recorded a training run; create a new ContingencyTracker for each run "
           "(the classical models can be shared)")


class ContingencyTracker:
    """A training callback that records which test examples D gets right, at scheduled steps.

    Parameters
    ----------
    test : the test Data (kept on D's device after the first call)
    classical : a :class:`Classical` (or a boolean vector: M right per test example), or a dict
        name -> one of those; more can be given later to :meth:`ContingencyRun.curves`
    dense_steps : record every step up to this one (default: one epoch), then ``n_sparse``
        log-spaced steps to the end
    past_peak : if given (e.g. 2.0), the every-step window adapts to the run: it goes on past
        ``dense_steps`` until the step is at least ``past_peak`` times the step of the highest R+-
        seen so far, for every M (R+- of the table averaged over seeds). A peak that comes late is
        then still recorded at every step, and the window ends once R+- has been falling for a
        while. None (the default) keeps the fixed window.
    batch_size : test examples per forward pass

    Pass the tracker in ``callbacks=`` of :func:`labkit.fit` or :func:`labkit.fit_many` (one run per
    tracker): it records the untrained model before the first step (``on_start``), then the
    scheduled steps; then call :meth:`result`. :func:`track` does both.
    """

    def __init__(self, test: Data, classical=None, dense_steps: int | None = None, n_sparse: int = 60,
                 batch_size: int = 4096, past_peak: float | None = None):
        if not isinstance(test, Data):
            raise TypeError(f"test must be a labkit Data, got {type(test).__name__}")
        self.test = test
        if classical is None:
            classical = {}
        elif not isinstance(classical, Mapping):
            classical = {getattr(classical, "name", "M"): classical}
        self.classical = {str(k): v for k, v in classical.items()}
        for k, v in self.classical.items():
            _m_correct(v, len(test), k)
        self.dense_steps = None if dense_steps is None else check_positive_int(dense_steps, "dense_steps", 0)
        self.n_sparse = check_positive_int(n_sparse, "n_sparse", 0)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if past_peak is not None and not (isinstance(past_peak, (int, float)) and past_peak >= 1):
            raise ValueError(f"past_peak must be a number >= 1 (e.g. 2.0: record every step until twice the "
                             f"peak's step) or None for a fixed window, got {past_peak!r}")
        self.past_peak = None if past_peak is None else float(past_peak)
        self._X = self._y = None
        self._schedule = None
        self._rows = []
        self._masks = None
        self._steps = []
        self._initial = None
        self._spe = self._total = None
        self.seconds = 0.0
        self.calls = 0

    def _prepare(self, members):
        device = members.device
        if self._X is None or self._X.device != device:
            self._X, self._y = to_device_input(self.test.X, device), self.test.y.to(device)

    @torch.no_grad()
    def _correct(self, model) -> torch.Tensor:
        """D right on each test example, per member: [S, N]."""
        members = as_members(model)
        self._prepare(members)
        with eval_mode(members.template), runtime.autocast(self._X.device):
            # one member at a time: on a CPU this is about twice as fast as the vmapped forward
            preds = torch.stack([self._predict(members.member_forward(s)) for s in range(len(members))])
        return preds == self._y

    def _predict(self, forward) -> torch.Tensor:
        return torch.cat([forward(self._X[i:i + self.batch_size]).argmax(-1)
                          for i in range(0, len(self._X), self.batch_size)])

    def start(self, model) -> "ContingencyTracker":
        """Record the untrained model (step 0); the trainer calls this through :meth:`on_start`."""
        if self._initial is not None or self._steps:
            raise RuntimeError(_REUSED)
        t = time.perf_counter()
        self._initial = self._correct(model)
        self.seconds += time.perf_counter() - t
        return self

    def on_start(self, state) -> None:
        if self._initial is None:
            self.start(state.members)

    def on_step(self, state) -> None:
        if self._schedule is None:
            self._spe, self._total = state.steps_per_epoch, state.total_steps
            dense = state.steps_per_epoch if self.dense_steps is None else self.dense_steps
            self._dense_used = min(dense, state.total_steps)
            self._peaks = {}  # M name -> (highest R+- so far, its step), while the window adapts
            self._plan(self._dense_used)
        dense = state.step <= self._dense_used
        if state.step not in self._schedule and not dense and not state.stop:
            return
        if self._steps and state.step <= self._steps[-1]:
            raise RuntimeError(_REUSED)
        t = time.perf_counter()
        correct = self._correct(state.members)
        self._rows.append(correct)
        self._steps.append(state.step)
        self.calls += 1
        if self.past_peak is not None and dense:
            self._adapt(state.step, correct)
        self.seconds += time.perf_counter() - t

    def _plan(self, dense_end: int) -> None:
        self._dense_used = dense_end
        self._schedule = set(tracking_schedule(self._total, dense_end, self.n_sparse).tolist())
        self._schedule.discard(0)

    def _adapt(self, step: int, correct: torch.Tensor) -> None:
        """Extend the every-step window while some M's R+- peaked less than ``past_peak`` x ago."""
        for name, m in self._m_masks(correct.device).items():
            right, wrong = m.sum(), (~m).sum()
            if right == 0 or wrong == 0:
                continue
            r_plus = (correct & m).sum(-1).float().mean() / right
            r_minus = (correct & ~m).sum(-1).float().mean() / wrong
            if r_minus > 0 and (name not in self._peaks or float(r_plus / r_minus) > self._peaks[name][0]):
                self._peaks[name] = (float(r_plus / r_minus), step)
        latest = max([s for _, s in self._peaks.values()], default=0)
        end = min(max(self._dense_used, int(np.ceil(self.past_peak * latest))), self._total)
        if end != self._dense_used:
            self._plan(end)

    def _m_masks(self, device) -> dict:
        if self._masks is None:
            n = len(self.test)
            self._masks = {k: torch.as_tensor(_m_correct(v, n, k), device=device) for k, v in self.classical.items()}
        return self._masks

    def result(self, classical=None) -> "ContingencyRun":
        """The recorded run; ``classical`` adds or replaces models M (dict name -> Classical)."""
        if not self._rows and self._initial is None:
            raise RuntimeError("nothing was recorded: pass the tracker in callbacks=[...] of lk.fit "
                               "or lk.fit_many, or use ct.track")
        ms = dict(self.classical)
        if classical is not None:
            ms.update(classical if isinstance(classical, Mapping) else {getattr(classical, "name", "M"): classical})
        rows, steps = [], []
        if self._initial is not None:
            rows.append(self._initial.unsqueeze(0).cpu())
            steps.append(0)
        if self._rows:
            rows.append(torch.stack(self._rows).cpu())
            steps.extend(self._steps)
        d = torch.cat(rows).numpy()  # [recorded steps, members, test examples]
        spe = self._spe or 1
        return ContingencyRun(steps=np.asarray(steps), steps_per_epoch=spe, total_steps=self._total or 0,
                              dense_steps=getattr(self, "_dense_used", 0), d_correct=d,
                              m_correct={k: _m_correct(v, len(self.test), k) for k, v in ms.items()},
                              classical={k: v for k, v in ms.items() if isinstance(v, Classical)},
                              y=self.test.y.cpu().numpy(), tracking_seconds=self.seconds)


def track(model, train: Data, tracker: ContingencyTracker, *, seeds: Sequence[int] | None = None,
          **fit_kwargs) -> ContingencyRun:
    """Train D with ``tracker`` recording from step 0.

    Parameters
    ----------
    model : an nn.Module (trained in place with :func:`labkit.fit`), or with ``seeds`` a function
        building one (trained for every seed at once with :func:`labkit.fit_many`; the run then
        holds every seed, and its curves use the mean table over seeds).
    fit_kwargs : passed on (``epochs``/``steps``, ``batch_size``, ``lr``, ``optimizer`` ...).

    Returns
    -------
    ContingencyRun
        What the tracker recorded (:meth:`ContingencyTracker.result`), with ``model`` (the trained
        module, or the :class:`~labkit.training.Ensemble` of the seeds) and ``history`` (the
        training History); its ``table()`` has one row per (M, seed, recorded step).
    """
    if not isinstance(tracker, ContingencyTracker):
        raise TypeError("tracker must be a ContingencyTracker")
    callbacks = list(fit_kwargs.pop("callbacks", ())) + [tracker]
    if seeds is None:
        if not isinstance(model, nn.Module):
            raise TypeError("model must be an nn.Module (or pass seeds=[...] and a function that builds one)")
        history = fit(model, train, callbacks=callbacks, **fit_kwargs)
        return replace(tracker.result(), model=model, history=history)
    if isinstance(model, nn.Module) or not callable(model):
        raise TypeError("with seeds=[...], model must be a function that builds a fresh model")
    ensemble, history = fit_many(model, train, seeds=seeds, callbacks=callbacks, **fit_kwargs)
    return replace(tracker.result(), model=ensemble, history=history)
