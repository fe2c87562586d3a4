"""Scores from training runs: a callback that accumulates them while several seeds train at once,
and :func:`compute_scores`, which trains the seeds and returns every score (L2 §2)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import runtime
from ..data.core import Data
from ..probes import block_features
from ..results import Result
from ..training import Ensemble, check_seeds, fit_many, input_gradients, resolve_device
from ..validation import check_fraction, check_option, check_positive_int
from .agreement import score_correlations
from .depth import _depths, _input_probes
from .scores import HARDER, SCORES, el2n, grad_norms, vog_from_pixel_std


class ScoreTracker:
    """A training callback that accumulates per-example statistics for S members from the logits
    every training step already computed, and evaluates EL2N, GraNd and VoG on the whole training
    set at chosen steps, for all members at once.

    The state lives on the training data's device, so tracking adds no device synchronisation.
    """

    def __init__(self, train: Data, n_seeds: int, early_step: int | None, vog_steps: Sequence[int] = (),
                 scores: Sequence[str] = SCORES, grad_batch_size: int | None = None):
        self.train = train
        self.scores = tuple(scores)
        self.early_step = early_step
        self.vog_steps = set(int(s) for s in vog_steps)
        self.grad_batch_size = grad_batch_size
        S, N, dev = check_positive_int(n_seeds, "n_seeds"), len(train), train.X.device
        self.rows = torch.arange(S, device=dev)
        z = lambda dtype=torch.float32: torch.zeros(S, N, dtype=dtype, device=dev)
        self.loss_sum, self.margin_sum, self.count, self.forgotten = z(), z(), z(), z()
        self.prev_correct, self.ever_correct = z(torch.bool), z(torch.bool)
        self.last_wrong_epoch = z()
        self.el2n, self.grand = z(), z()
        self.vog_count = torch.zeros(S, dtype=torch.long)
        self.vog_mean = None  # [S, N, *input], Welford's running mean and sum of squared deviations
        self.vog_m2 = None
        self.checkpoint_seconds = 0.0

    def on_step(self, state) -> None:
        idx, logits, targets = state.member_index, state.member_logits.float(), state.member_targets
        flat = (self.rows[:, None] * self.loss_sum.shape[1] + idx).flatten()  # (seed, example) as one index
        logp = logits.log_softmax(-1)
        p = logp.exp()
        own = p.gather(-1, targets[..., None]).squeeze(-1)
        other = p.scatter(-1, targets[..., None], -1.0).amax(-1)
        correct = (logits.argmax(-1) == targets).flatten()
        self.loss_sum.view(-1).index_add_(0, flat, -logp.gather(-1, targets[..., None]).flatten())
        self.margin_sum.view(-1).index_add_(0, flat, (own - other).flatten())
        self.count.view(-1).index_add_(0, flat, torch.ones_like(own).flatten())
        prev = self.prev_correct.view(-1)
        self.forgotten.view(-1).index_add_(0, flat, (prev[flat] & ~correct).float())
        prev[flat] = correct
        self.ever_correct.view(-1)[flat] |= correct
        self.last_wrong_epoch.view(-1)[flat[~correct]] = float(state.epoch)
        if state.step == self.early_step or state.step in self.vog_steps:
            self._checkpoint(state)

    @torch.no_grad()
    def _checkpoint(self, state) -> None:
        start = time.perf_counter()
        model = state.members
        X, y = self.train.X, self.train.y
        if state.step == self.early_step:
            if "el2n" in self.scores:
                self.el2n[self.rows] = el2n(model.predict_logits(X), y)
            if "grand" in self.scores:
                self.grand[self.rows] = grad_norms(model, X, y, self.grad_batch_size).to(self.el2n.device)
        if state.step in self.vog_steps and "vog" in self.scores:
            g = input_gradients(model, X, y)  # [S, N, *input] on the CPU
            rows = self.rows.cpu()
            if self.vog_mean is None:
                shape = (len(self.vog_count),) + tuple(g.shape[1:])
                self.vog_mean, self.vog_m2 = torch.zeros(shape), torch.zeros(shape)
            self.vog_count[rows] += 1
            n = self.vog_count[rows].float().view(-1, *[1] * (g.dim() - 1))
            delta = g - self.vog_mean[rows]  # Welford: a numerically stable running variance
            self.vog_mean[rows] += delta / n
            self.vog_m2[rows] += delta * (g - self.vog_mean[rows])
        self.checkpoint_seconds += time.perf_counter() - start

    def vog_pixel_std(self) -> torch.Tensor:
        """Per-pixel standard deviation over the checkpoints (population, 1/K), [S, N, *input]."""
        if self.vog_mean is None or int(self.vog_count.min()) < 2:
            raise RuntimeError("VoG needs at least two checkpoints per seed; train longer or lower vog_checkpoints")
        n = self.vog_count.float().view(-1, *[1] * (self.vog_m2.dim() - 1))
        return (self.vog_m2 / n).clamp(min=0).sqrt()


@dataclass
class DifficultyScores(Result):
    """Scores of every training example for several seeds (the result of :func:`compute_scores`).

    Attributes
    ----------
    per_seed : dict score name -> float array [S, N] (seeds, examples)
    learned_epoch : float array [S, N], the epoch of the example's last wrong presentation (0 if
        never wrong): after it, the example stayed correctly classified
    labels : int array [N], the (given) training labels
    seeds : list of int, the seeds, one training run each
    epochs : int, the length of each run
    early_epoch : float, when EL2N and GraNd were measured
    n_layers : int or None, the probe points of prediction depth (None without depth)
    depth_val : float array [S, M] or None, prediction depths of the extra ``depth_data`` examples
    models : Ensemble, the trained models
    seconds : dict part -> float, wall time of each part (training, checkpoints, depth)

    ``table()`` gives one row per example: see :meth:`table`.
    """

    per_seed: dict[str, np.ndarray]
    learned_epoch: np.ndarray
    labels: np.ndarray
    seeds: list[int]
    epochs: int
    early_epoch: float
    n_layers: int | None = None
    depth_val: np.ndarray | None = None
    models: Ensemble | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [s for s in SCORES if s in self.per_seed]

    def __repr__(self) -> str:
        return (f"DifficultyScores({len(self.labels)} examples x {len(self.seeds)} seeds, "
                f"scores={self.names})")

    def mean(self, score: str) -> np.ndarray:
        """The seed average of ``score``, shape [N]."""
        return self.per_seed[check_option(score, "score", tuple(self.per_seed))].mean(0)

    def hardness(self, score: str, seeds=None) -> np.ndarray:
        """``score`` averaged over ``seeds`` (row positions; all by default), oriented so that
        larger means harder (the margin is negated)."""
        values = self.per_seed[check_option(score, "score", tuple(self.per_seed))]
        rows = values if seeds is None else values[list(seeds)]
        return HARDER[score] * rows.mean(0)

    def table(self) -> pd.DataFrame:
        """One row per example (index ``example``) with the columns ``label``, then for each score
        of :attr:`names` its seed mean ``<score>`` and standard deviation over seeds
        ``<score>_std``, and ``learned_epoch`` (the seed mean of the epoch it was learned)."""
        cols = {"label": self.labels}
        for s in self.names:
            cols[s] = self.per_seed[s].mean(0)
            cols[f"{s}_std"] = self.per_seed[s].std(0)
        cols["learned_epoch"] = self.learned_epoch.mean(0)
        df = pd.DataFrame(cols)
        df.index.name = "example"
        return df

    def correlations(self, method: str = "spearman") -> pd.DataFrame:
        """Rank correlations between the seed-averaged scores, each oriented so that larger means
        harder (so agreeing scores correlate positively)."""
        return score_correlations({s: self.hardness(s) for s in self.names}, method)


def compute_scores(build: Callable[[], nn.Module], train: Data, *, seeds: Sequence[int] = (0, 1, 2, 3, 4),
                   epochs: int = 20, batch_size: int = 128, early_epoch: float | None = None,
                   vog_checkpoints: int = 5, k: int = 30, scores: Sequence[str] = SCORES,
                   depth_data: Data | None = None, device=None, progress: bool | None = None,
                   grad_batch_size: int | None = None, **fit_kwargs) -> DifficultyScores:
    """Train ``build()`` once per seed on ``train`` and score every training example.

    Returns a :class:`DifficultyScores`: ``per_seed`` [S, N] for every score, ``hardness(score)``
    and ``mean(score)`` for the seed averages, and ``table()`` with one row per example (the label,
    each score's seed mean and standard deviation, the learned epoch).

    Parameters
    ----------
    build : a function returning a fresh model (a labkit BlockNet for prediction depth)
    train : the training set; every example gets every score
    seeds : one training run per seed, all at once with :func:`labkit.fit_many`
    epochs : training length; loss, margin and forgetting use every presentation
    early_epoch : when EL2N and GraNd are measured (default: after a fifth of the epochs, at least one)
    vog_checkpoints : number of checkpoints, evenly spread over training, for VoG (at least 2)
    k : neighbours of the prediction-depth k-NN probes
    scores : the scores to compute (default all of :data:`SCORES`)
    depth_data : optional other examples (e.g. a validation split) to give prediction depths too
    fit_kwargs : passed on to the trainer (optimizer, lr, schedule, ...)
    """
    if not isinstance(train, Data):
        raise TypeError(f"train must be a labkit Data, got {type(train).__name__}")
    seeds = check_seeds(seeds)
    for s in scores:
        check_option(s, "score", SCORES)
    epochs = check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    vog_checkpoints = check_positive_int(vog_checkpoints, "vog_checkpoints", 2)
    early_epoch = max(1, round(0.2 * epochs)) if early_epoch is None else early_epoch
    check_fraction(early_epoch, "early_epoch", 0.0, epochs, inclusive_low=False)
    device = resolve_device(device)
    per_epoch = math.ceil(len(train) / batch_size)
    total = runtime.quick_steps(per_epoch * epochs)  # the quick-run switch stops training early
    early_step = min(total, max(1, round(early_epoch * per_epoch)))
    vog_steps = sorted({max(1, round(total * (c + 1) / vog_checkpoints)) for c in range(vog_checkpoints)})
    common = dict(epochs=epochs, batch_size=batch_size, device=device, progress=progress, eval_every=0,
                  **fit_kwargs)
    t0 = time.perf_counter()
    train_dev = train.to(device)
    tracker = ScoreTracker(train_dev, len(seeds), early_step, vog_steps, scores, grad_batch_size)
    ens, _ = fit_many(build, train_dev, seeds=seeds, callbacks=[tracker], **common)
    models = ens.models
    seconds = {"training": time.perf_counter() - t0 - tracker.checkpoint_seconds,
               "checkpoints (el2n, grand, vog)": tracker.checkpoint_seconds}
    y = train.y.cpu()
    count = tracker.count.clamp(min=1)
    per_seed = {}
    if "loss" in scores:
        per_seed["loss"] = tracker.loss_sum / count
    if "margin" in scores:
        per_seed["margin"] = tracker.margin_sum / count
    if "el2n" in scores:
        per_seed["el2n"] = tracker.el2n
    if "grand" in scores:
        per_seed["grand"] = tracker.grand
    if "forgetting" in scores:
        per_seed["forgetting"] = torch.where(tracker.ever_correct, tracker.forgotten, tracker.count)
    if "vog" in scores:
        per_seed["vog"] = vog_from_pixel_std(tracker.vog_pixel_std(), y)
    per_seed = {k: v.double().cpu().numpy() for k, v in per_seed.items()}
    n_layers, depth_val = None, None
    if "depth" in scores:
        t1 = time.perf_counter()
        queries = [None] if depth_data is None else [None, depth_data.to(device)]
        shared = _input_probes(train_dev, queries, k)
        rows, val_rows = [], []
        for m in models:
            depths = _depths(m.to(device), train_dev, queries, k, input_probes=shared)
            rows.append(depths[0])
            if depth_data is not None:
                val_rows.append(depths[1])
        per_seed["depth"] = torch.stack(rows).double().numpy()
        depth_val = torch.stack(val_rows).double().numpy() if val_rows else None
        n_layers = len(block_features(models[0], train_dev.X[:2]))
        seconds["prediction depth (k-NN probes)"] = time.perf_counter() - t1
    # an example wrong at its last presentation was never learned: it gets the number of epochs
    learned = torch.where(tracker.prev_correct, tracker.last_wrong_epoch, torch.full_like(tracker.last_wrong_epoch, float(epochs)))
    return DifficultyScores(per_seed=per_seed, learned_epoch=learned.double().cpu().numpy(), labels=y.numpy(), seeds=seeds,
                            epochs=epochs, early_epoch=early_step / per_epoch, n_layers=n_layers,
                            depth_val=depth_val, models=ens, seconds=seconds)
