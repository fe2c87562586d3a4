"""Example difficulty and data-centric tools (lecture L2).

A trained network is a measuring instrument for its data. This module turns training runs into
per-example scores, finds suspected label errors, and prunes datasets by score::

    from labkit import difficulty as dif
    build = lambda: lk.models.MLP(train.input_shape, 10, hidden=(128,) * 4)
    scores = dif.compute_scores(build, train, seeds=range(5), epochs=20)
    scores.table()                 # one row per example: every score's seed mean and spread
    scores.correlations()          # rank correlations between scores
    dif.seed_agreement(scores.per_seed["el2n"])

The scores (each oriented as the literature defines it; :data:`HARDER` says which way is hard):

``loss``        mean cross-entropy of the example over all its presentations during training
``margin``      mean over presentations of p(given label) minus the largest other probability;
                when the model predicts the given label this is the gap between the two highest
                probabilities, otherwise it is negative (small = hard)
``el2n``        ‖softmax(f(x)) − onehot(y)‖₂ early in training (Paul et al. 2021)
``grand``       ‖∇_θ loss(x, y)‖₂ early in training, per example with torch.func (Paul et al. 2021)
``forgetting``  number of times the example went from correctly to wrongly classified between two
                consecutive presentations; an example never classified correctly gets the number of
                its presentations, more than any learned example can reach (Toneva et al. 2019)
``vog``         variance over checkpoints of the gradient of the given label's logit with respect
                to the input pixels, averaged over pixels, then standardised within each class
                (Agarwal et al. 2022)
``depth``       prediction depth: the first layer from which k-NN probes (k = 30) on every later
                block's output agree with the network's final prediction (Baldock et al. 2021)

Several seeds train at once with :func:`labkit.fit_many` (``torch.func.vmap`` over stacked
parameters) whenever the model allows it (no BatchNorm); otherwise one after another with
:func:`labkit.fit`. Loss, margin and forgetting come for free from the logits each training step
already computed; EL2N, GraNd and VoG are evaluated on the whole training set at a few checkpoints
inside the same runs, with ``torch.func`` vectorised over examples *and* seeds.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from . import runtime
from .data.core import Data
from .training import (Ensemble, _has_batchnorm, fit, fit_many, make_optimizer, per_example_grad_norms,
                       predict_logits, stacked_state)
from .validation import check_fraction, check_labels, check_option, check_positive_int

SCORES = ("loss", "margin", "el2n", "grand", "forgetting", "vog", "depth")
# +1: a larger value means a harder example; -1: a smaller value does.
HARDER = {"loss": 1, "margin": -1, "el2n": 1, "grand": 1, "forgetting": 1, "vog": 1, "depth": 1}
DIET_STRATEGIES = ("easiest", "hardest", "random")
SLICES = ("hardest", "easiest", "disagreement")


# ----------------------------------------------------------------------------------------------
# input checks


def _as_logits(logits, name: str = "logits") -> torch.Tensor:
    t = torch.as_tensor(logits)
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {t.dtype}")
    if t.dim() < 2:
        raise ValueError(f"{name} must have shape [..., N, K] (K classes), got {tuple(t.shape)}")
    if t.shape[-1] < 2:
        raise ValueError(f"{name} has {t.shape[-1]} class column(s); need at least 2")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return t.float()


def _labels_for(y, logits: torch.Tensor) -> torch.Tensor:
    y = check_labels(y, n=logits.shape[-2], n_classes=logits.shape[-1]).to(logits.device)
    return y


def _as_matrix(values, name: str) -> np.ndarray:
    """A 2-D float array [S, N] (a 1-D input becomes one row)."""
    a = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"{name} must have shape [seeds, examples], got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


# ----------------------------------------------------------------------------------------------
# scores from logits (pure functions; any leading dimensions, e.g. seeds)


def el2n(logits, y) -> torch.Tensor:
    """EL2N: ‖softmax(logits) − onehot(y)‖₂ per example. logits [..., N, K], y [N] -> [..., N]."""
    logits = _as_logits(logits)
    y = _labels_for(y, logits)
    err = logits.softmax(-1) - F.one_hot(y, logits.shape[-1]).to(logits)
    return torch.linalg.vector_norm(err, dim=-1)


def margin(logits, y) -> torch.Tensor:
    """p(given label) − the largest probability of any other class. [..., N, K], [N] -> [..., N]."""
    logits = _as_logits(logits)
    y = _labels_for(y, logits)
    p = logits.softmax(-1)
    own = p.gather(-1, y.expand(p.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    others = p.masked_fill(F.one_hot(y, p.shape[-1]).bool().expand(p.shape), -1.0)
    return own - others.amax(-1)


def cross_entropy(logits, y) -> torch.Tensor:
    """Per-example cross-entropy. [..., N, K], [N] -> [..., N]."""
    logits = _as_logits(logits)
    y = _labels_for(y, logits)
    logp = logits.log_softmax(-1)
    return -logp.gather(-1, y.expand(logp.shape[:-1]).unsqueeze(-1)).squeeze(-1)


def forgetting_counts(correct) -> torch.Tensor:
    """Forgetting events from a correctness history ``correct`` [..., T, N] (bool, one row per
    presentation, in order): the number of 1 -> 0 transitions. An example never correct gets T,
    more than any example that was learned can reach. Returns [..., N] (float)."""
    c = torch.as_tensor(correct)
    if c.dtype != torch.bool:
        if c.is_floating_point() and not torch.isin(c, torch.tensor([0.0, 1.0], dtype=c.dtype)).all():
            raise ValueError("correct must hold booleans (or 0/1)")
        c = c.bool()
    if c.dim() < 2 or c.shape[-2] == 0:
        raise ValueError(f"correct must have shape [..., presentations, examples], got {tuple(c.shape)}")
    T = c.shape[-2]
    events = (c[..., :-1, :] & ~c[..., 1:, :]).sum(-2).float()
    never = ~c.any(-2)
    return torch.where(never, torch.full_like(events, float(T)), events)


def vog_from_gradients(grads, y=None, normalize: bool = True) -> torch.Tensor:
    """VoG of one model from input gradients at C checkpoints, ``grads`` [C, N, *input]: the
    variance over checkpoints of each pixel's gradient, averaged over the pixels, [N]. With
    ``normalize`` (needs the labels ``y`` [N]) every class is standardised to mean 0 and standard
    deviation 1, as Agarwal et al. do, so classes with larger gradients do not dominate."""
    g = torch.as_tensor(grads).float()
    if g.dim() < 3:
        raise ValueError(f"grads must be [checkpoints, N, *input], got {tuple(g.shape)}")
    if g.shape[0] < 2:
        raise ValueError(f"VoG needs gradients at 2 or more checkpoints, got {g.shape[0]}")
    if y is None and normalize:
        raise ValueError("normalize=True needs the labels y (VoG is standardised within each class)")
    return vog_from_variance(g.var(0, unbiased=False)[None], y, normalize)[0]


def vog_from_variance(pixel_var: torch.Tensor, y, normalize: bool = True) -> torch.Tensor:
    """Average a per-pixel variance [S, N, *input] over the pixels and, with ``normalize``,
    standardise within each class of ``y`` [N] (per seed). Returns [S, N]."""
    v = torch.as_tensor(pixel_var).float()
    if v.dim() < 2:
        raise ValueError(f"pixel_var must be [S, N, *input], got {tuple(v.shape)}")
    v = v.flatten(2).mean(-1) if v.dim() > 2 else v
    if not normalize:
        return v
    y = check_labels(y, n=v.shape[1]).to(v.device)
    out = torch.empty_like(v)
    for k in torch.unique(y):
        m = y == k
        vals = v[:, m]
        std = vals.std(1, unbiased=False, keepdim=True)
        out[:, m] = (vals - vals.mean(1, keepdim=True)) / torch.where(std > 0, std, torch.ones_like(std))
    return out


def knn_predict(support, support_labels, query=None, k: int = 30, n_classes: int | None = None,
                batch_size: int = 1024) -> torch.Tensor:
    """Majority vote of the ``k`` nearest (Euclidean) support points for each query point.

    ``query=None`` queries the support set itself, leaving each point out of its own vote.
    Ties go to the smallest class index. Computed in batches of queries with ``torch.cdist``.
    """
    support = torch.as_tensor(support).float().flatten(1)
    labels = torch.as_tensor(support_labels).long().to(support.device)
    if len(labels) != len(support):
        raise ValueError(f"support has {len(support)} points but {len(labels)} labels")
    loo = query is None
    query = support if loo else torch.as_tensor(query).float().flatten(1).to(support.device)
    if query.shape[1] != support.shape[1]:
        raise ValueError(f"query has {query.shape[1]} features but support has {support.shape[1]}")
    k = check_positive_int(k, "k")
    if k > len(support) - int(loo):
        raise ValueError(f"k={k} but only {len(support) - int(loo)} support points are available")
    n_classes = n_classes or int(labels.max()) + 1
    out = []
    for i in range(0, len(query), batch_size):
        d = torch.cdist(query[i:i + batch_size], support)
        if loo:
            rows = torch.arange(d.shape[0], device=d.device)
            d[rows, rows + i] = float("inf")
        nn_idx = d.topk(k, dim=1, largest=False).indices
        votes = F.one_hot(labels[nn_idx], n_classes).sum(1)
        out.append(votes.argmax(1))
    return torch.cat(out)


def depth_from_probes(probe_preds, final_pred) -> torch.Tensor:
    """Prediction depth from k-NN probe predictions ``probe_preds`` [L, N] (layers in order, the
    input first) and the network's prediction ``final_pred`` [N]: the smallest l such that every
    probe l, l+1, ..., L-1 predicts ``final_pred``; L when even the last probe disagrees (the
    decision is made only by the output layer)."""
    p = torch.as_tensor(probe_preds)
    f = torch.as_tensor(final_pred).to(p.device)
    if p.dim() != 2 or p.shape[1] != len(f):
        raise ValueError(f"probe_preds must be [layers, N] with N={len(f)}, got {tuple(p.shape)}")
    agree = (p == f).flip(0).int()                      # from the last layer backwards
    run = agree.cumprod(0).sum(0)                       # how many final layers agree in a row
    return (p.shape[0] - run).float()


# ----------------------------------------------------------------------------------------------
# per-example gradients of several models at once (torch.func)


def grad_norms(model, X, y, batch_size: int | None = None) -> torch.Tensor:
    """GraNd: the norm of each example's loss gradient w.r.t. all parameters, for one model or
    every member of an Ensemble at once. Returns [S, N] (S = 1 for a single model), on the CPU.
    Exact; see :func:`labkit.per_example_grad_norms` for how."""
    norms = per_example_grad_norms(model, (torch.as_tensor(X).float(), torch.as_tensor(y)), batch_size)
    return norms if norms.dim() == 2 else norms[None]


def input_gradients(model, X, y, batch_size: int = 1024) -> torch.Tensor:
    """Gradient of the logit of label ``y`` w.r.t. the input, per example and model: [S, N, *input].

    In eval mode every example's logit depends only on its own input, so one gradient of the
    summed logits gives all examples' gradients; ``vmap`` runs it for every seed at once.
    """
    template, params, buffers = stacked_state(model)
    device = next(iter(params.values())).device
    X = torch.as_tensor(X).float().to(device)
    y = check_labels(y, n=len(X)).to(device)
    was = template.training
    template.eval()

    def label_logits(p, b, x, t):
        out = functional_call(template, (p, b), (x,))
        return out.float().gather(1, t[:, None]).sum()

    per_model = vmap(grad(label_logits, argnums=2), in_dims=(0, 0, None, None))
    try:
        out = [per_model(params, buffers, X[i:i + batch_size], y[i:i + batch_size]).cpu()
               for i in range(0, len(X), batch_size)]
    finally:
        template.train(was)
    return torch.cat(out, dim=1)


@torch.inference_mode()
def block_features(model: nn.Module, X, batch_size: int = 1024) -> list:
    """The input and every block's output except the head, flattened: a list of [N, D_l] tensors.
    These are the layers on which prediction depth places its k-NN probes."""
    if not hasattr(model, "block_outputs"):
        raise TypeError("prediction depth needs a labkit BlockNet (a model with block_outputs)")
    device = next(model.parameters()).device
    X = torch.as_tensor(X).float().to(device)
    was = model.training
    model.eval()
    try:
        parts = [model.block_outputs(X[i:i + batch_size], flatten=True) for i in range(0, len(X), batch_size)]
    finally:
        model.train(was)
    names = [n for n in parts[0] if n != "head"]
    return [X.flatten(1)] + [torch.cat([p[n] for p in parts]).float() for n in names]


def prediction_depth(model: nn.Module, support: Data, query: Data | None = None, k: int = 30,
                     batch_size: int = 1024) -> torch.Tensor:
    """Prediction depth of each example of ``query`` (default: the support set itself, each example
    left out of its own vote) for one model: k-NN probes with the support set's given labels on
    the input and on every block's output before the head. Values 0 .. number of hidden blocks + 1."""
    return _depths(model, support, [query], k, batch_size)[0]


def _input_probes(support: Data, queries: list, k: int, batch_size: int = 1024) -> list:
    """The k-NN predictions on the raw input: the same for every model, so computed once."""
    return [knn_predict(support.X, support.y, None if q is None else q.X.to(support.X.device), k=k,
                        n_classes=support.n_classes, batch_size=batch_size) for q in queries]


def _depths(model: nn.Module, support: Data, queries: list, k: int, batch_size: int = 1024,
            input_probes: list | None = None) -> list:
    """Prediction depths for several query sets (None: the support set, leave-one-out), reusing
    the support set's block outputs and, if given, the input-layer probes."""
    feats = block_features(model, support.X, batch_size)
    out = []
    for j, query in enumerate(queries):
        target = support if query is None else query
        qfeats = None if query is None else block_features(model, query.X, batch_size)
        final = predict_logits(model, target.X, batch_size).argmax(1)
        probes = []
        for layer, f in enumerate(feats):
            if layer == 0 and input_probes is not None:
                probes.append(input_probes[j].to(final.device))
                continue
            probes.append(knn_predict(f, support.y, None if qfeats is None else qfeats[layer], k=k,
                                      n_classes=support.n_classes, batch_size=batch_size))
        # the layers are the probes plus the head, so a full disagreement gives len(feats)
        out.append(depth_from_probes(torch.stack(probes), final).cpu())
    return out


# ----------------------------------------------------------------------------------------------
# tracking scores during training


class ScoreTracker:
    """A training callback that accumulates per-example statistics for S seeds from the logits
    every training step already computed, and evaluates EL2N, GraNd and VoG on the whole training
    set at chosen steps. Works with :func:`labkit.fit_many` (all S rows at once) and with
    :func:`labkit.fit` (one row at a time: call :meth:`use_row` before each run).

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

    def use_row(self, row: int) -> None:
        """Fill only row ``row`` from now on (training one seed at a time with lk.fit)."""
        self.rows = torch.tensor([row], device=self.rows.device)

    def __call__(self, state) -> None:
        idx, logits, targets = state.index, state.logits.float(), state.targets
        if idx.dim() == 1:  # lk.fit: one model
            idx, logits, targets = idx[None], logits[None], targets[None]
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
        model = state.model
        X, y = self.train.X, self.train.y
        if state.step == self.early_step:
            if "el2n" in self.scores:
                logits = model.predict_logits(X) if isinstance(model, Ensemble) else predict_logits(model, X)[None]
                self.el2n[self.rows] = el2n(logits, y)
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

    def vog_variance(self) -> torch.Tensor:
        """Per-pixel variance over the checkpoints, [S, N, *input]."""
        if self.vog_mean is None or int(self.vog_count.min()) < 2:
            raise RuntimeError("VoG needs at least two checkpoints per seed; train longer or lower vog_checkpoints")
        n = self.vog_count.float().view(-1, *[1] * (self.vog_m2.dim() - 1))
        return self.vog_m2 / n


@dataclass
class DifficultyScores:
    """Scores of every training example for several seeds.

    per_seed : dict score name -> array [S, N]
    learned_epoch : [S, N], the epoch of the example's last wrong presentation (0 if never wrong):
        after it, the example stayed correctly classified
    depth_val : [S, M] prediction depths of the extra ``depth_data`` examples (or None)
    labels : [N] the (given) training labels
    models : the trained models (an Ensemble, or a list of nn.Modules)
    """

    per_seed: dict
    learned_epoch: np.ndarray
    labels: np.ndarray
    seeds: list
    epochs: int
    early_epoch: float
    n_layers: int | None = None
    depth_val: np.ndarray | None = None
    models: object = None
    seconds: dict = field(default_factory=dict)

    @property
    def names(self) -> list:
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
        """One row per example: the label, each score's seed mean and its standard deviation over
        seeds (``<score>_std``), and the seed-mean epoch at which the example was learned."""
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
                   grad_batch_size: int | None = None, vectorise: bool | None = None,
                   **fit_kwargs) -> DifficultyScores:
    """Train ``build()`` once per seed on ``train`` and score every training example.

    Parameters
    ----------
    build : a function returning a fresh model (a labkit BlockNet for prediction depth)
    train : the training set; every example gets every score
    seeds : one training run per seed; all at once with ``fit_many`` unless the model has BatchNorm
    epochs : training length; loss, margin and forgetting use every presentation
    early_epoch : when EL2N and GraNd are measured (default: after a fifth of the epochs, at least one)
    vog_checkpoints : number of checkpoints, evenly spread over training, for VoG (at least 2)
    k : neighbours of the prediction-depth k-NN probes
    scores : the scores to compute (default all of :data:`SCORES`)
    depth_data : optional other examples (e.g. a validation split) to give prediction depths too
    vectorise : train all seeds at once (default: whenever the model has no BatchNorm); False
        trains them one after another with :func:`labkit.fit`
    fit_kwargs : passed on to the trainer (optimizer, lr, schedule, ...)
    """
    if not isinstance(train, Data):
        raise TypeError(f"train must be a labkit Data, got {type(train).__name__}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    for s in scores:
        check_option(s, "score", SCORES)
    epochs = check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    vog_checkpoints = check_positive_int(vog_checkpoints, "vog_checkpoints", 2)
    early_epoch = max(1, round(0.2 * epochs)) if early_epoch is None else early_epoch
    check_fraction(early_epoch, "early_epoch", 0.0, epochs, inclusive_low=False)
    device = torch.device(device) if device is not None else runtime.get_device()
    per_epoch = math.ceil(len(train) / batch_size)
    total = per_epoch * epochs
    early_step = max(1, round(early_epoch * per_epoch))
    vog_steps = sorted({max(1, round(total * (c + 1) / vog_checkpoints)) for c in range(vog_checkpoints)})
    common = dict(epochs=epochs, batch_size=batch_size, device=device, progress=progress, eval_every=0,
                  **fit_kwargs)
    if vectorise is None:
        vectorise = not _has_batchnorm(build())
    t0 = time.perf_counter()
    train_dev = train.to(device)
    tracker = ScoreTracker(train_dev, len(seeds), early_step, vog_steps, scores, grad_batch_size)
    if vectorise:
        ens, _ = fit_many(build, train_dev, seeds=seeds, callbacks=[tracker], **common)
        models, container = ens.models, ens
    else:
        models = []
        for i, s in enumerate(seeds):
            tracker.use_row(i)
            runtime.seed_everything(s)
            m = build()
            fit(m, train_dev, seed=s, callbacks=[tracker], **common)
            models.append(m)
        container = models
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
        per_seed["vog"] = vog_from_variance(tracker.vog_variance(), y)
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
                            depth_val=depth_val, models=container, seconds=seconds)


# ----------------------------------------------------------------------------------------------
# agreement between scores and between seeds


def score_correlations(scores: dict, method: str = "spearman") -> pd.DataFrame:
    """Correlation matrix between score vectors (a dict name -> [N]); ``spearman`` (ranks, with
    scipy) or ``pearson``."""
    check_option(method, "method", ("spearman", "pearson"))
    if len(scores) < 2:
        raise ValueError("give at least two scores to correlate")
    names = list(scores)
    M = np.column_stack([np.asarray(scores[n], dtype=float).reshape(-1) for n in names])
    if method == "spearman":
        from scipy.stats import spearmanr
        C = spearmanr(M).statistic
    else:
        C = np.corrcoef(M, rowvar=False)
    return pd.DataFrame(np.atleast_2d(C), index=names, columns=names)


def seed_agreement(per_seed, n_reference: int | None = None, sizes: Sequence[int] | None = None,
                   n_draws: int = 20, seed: int = 0) -> pd.DataFrame:
    """How well an average of m runs ranks examples like an independent many-run reference.

    For each draw the seeds are shuffled; ``n_reference`` of them (default half) form the reference
    (their mean), and for each m in ``sizes`` (default 1 .. the remaining seeds) the mean of m of
    the other seeds is rank-correlated (Spearman) with it. Returns one row per m with the mean and
    standard deviation over draws.
    """
    from scipy.stats import spearmanr
    A = _as_matrix(per_seed, "per_seed")
    S = A.shape[0]
    n_reference = S // 2 if n_reference is None else check_positive_int(n_reference, "n_reference")
    if S - n_reference < 1 or n_reference < 1:
        raise ValueError(f"seed_agreement needs at least 2 seeds and 1 outside the reference; "
                         f"got {S} seeds and n_reference={n_reference}")
    sizes = list(range(1, S - n_reference + 1)) if sizes is None else [int(m) for m in sizes]
    for m in sizes:
        if not 1 <= m <= S - n_reference:
            raise ValueError(f"size {m} is impossible with {S} seeds and {n_reference} for the reference")
    rng = np.random.default_rng(seed)
    rho = {m: [] for m in sizes}
    for _ in range(check_positive_int(n_draws, "n_draws")):
        order = rng.permutation(S)
        ref = A[order[:n_reference]].mean(0)
        pool = order[n_reference:]
        for m in sizes:
            pick = rng.choice(pool, size=m, replace=False)
            rho[m].append(spearmanr(A[pick].mean(0), ref).statistic)
    return pd.DataFrame({"runs_averaged": sizes, "spearman_mean": [np.mean(rho[m]) for m in sizes],
                         "spearman_std": [np.std(rho[m]) for m in sizes]})


def auroc(scores, positives) -> float:
    """Area under the ROC curve of ``scores`` for detecting ``positives`` (bool) — scikit-learn's."""
    from sklearn.metrics import roc_auc_score
    s = np.asarray(scores, dtype=float).reshape(-1)
    pos = np.asarray(positives.cpu() if isinstance(positives, torch.Tensor) else positives).astype(bool).reshape(-1)
    if len(s) != len(pos):
        raise ValueError(f"{len(s)} scores but {len(pos)} positive flags")
    if pos.all() or not pos.any():
        raise ValueError("AUROC needs both positive and negative examples")
    return float(roc_auc_score(pos, s))


# ----------------------------------------------------------------------------------------------
# many training sets at once


@dataclass
class SubsetRuns:
    """Models trained by :func:`fit_subsets`: member m was trained on ``subsets[members[m][0]]``
    with seed ``members[m][1]``. ``ensemble.predict_logits(X)`` gives [M, N, K]."""

    ensemble: Ensemble
    members: list
    seconds: float

    def predict_logits(self, X) -> torch.Tensor:
        return self.ensemble.predict_logits(X)


def _subset_batches(index: torch.Tensor, batch_size: int, generator: torch.Generator):
    """Endless batches of ``index``: a fresh permutation per pass, incomplete last batch dropped."""
    n = len(index)
    while True:
        perm = index[torch.randperm(n, generator=generator).to(index.device)]
        for b in range(n // batch_size):
            yield perm[b * batch_size:(b + 1) * batch_size]


def fit_subsets(build: Callable[[], nn.Module], train: Data, subsets: Sequence, *, seeds: Sequence[int] = (0,),
                steps: int = 300, batch_size: int = 128, optimizer: str = "adam", lr: float | None = None,
                weight_decay: float = 0.0, device=None, amp: bool = True) -> SubsetRuns:
    """Train one model per (subset, seed) pair, each on its own subset of ``train``, all at once.

    :func:`labkit.fit_many` trains several seeds on *one* training set; pruning experiments and
    cross-fitting need a different training set per model. Here every member draws its batches
    from its own subset (a fresh permutation per pass over it, seeded by its seed) and one
    ``vmap``-ed forward/backward pass updates them all: the same number of ``steps`` for every
    member, whatever its subset's size. Models with BatchNorm are trained one after another with
    :func:`labkit.fit` instead. The batch size is capped by the smallest subset.
    """
    if not isinstance(train, Data):
        raise TypeError(f"train must be a labkit Data, got {type(train).__name__}")
    if len(subsets) == 0:
        raise ValueError("subsets is empty; give at least one index array")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct integers, got {seeds}")
    steps = check_positive_int(steps, "steps")
    device = torch.device(device) if device is not None else runtime.get_device()
    data = train.to(device)
    index = []
    for i, sub in enumerate(subsets):
        sub = torch.as_tensor(np.asarray(sub), dtype=torch.long).reshape(-1)
        if sub.numel() == 0:
            raise ValueError(f"subset {i} is empty")
        if int(sub.min()) < 0 or int(sub.max()) >= len(train):
            raise ValueError(f"subset {i} has indices outside 0..{len(train) - 1}")
        index.append(sub.to(device))
    B = min(check_positive_int(batch_size, "batch_size"), min(len(i) for i in index))
    members = [(i, s) for i in range(len(index)) for s in seeds]
    start = time.perf_counter()
    models = []
    for _, s in members:
        runtime.seed_everything(s)
        models.append(build().to(device))
    if _has_batchnorm(models[0]):
        for m, (i, s) in zip(models, members):
            runtime.seed_everything(s)
            fit(m, data.subset(index[i]), steps=steps, batch_size=B, optimizer=optimizer, lr=lr,
                weight_decay=weight_decay, seed=s, device=device, amp=amp, eval_every=0, progress=False,
                drop_last=True)
        return SubsetRuns(Ensemble(models), members, time.perf_counter() - start)
    ens = Ensemble(models)
    opt = make_optimizer(list(ens.params.values()), optimizer, lr, weight_decay)
    dtype = runtime.amp_dtype(device) if amp else None
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    iters = [_subset_batches(index[i], B, torch.Generator().manual_seed(s)) for i, s in members]
    M = len(members)
    ens.train()
    for _ in range(steps):
        idx = torch.stack([next(it) for it in iters])  # [M, B]
        with runtime.autocast(device, enabled=amp):
            logits = ens.forward(data.X[idx], per_model_inputs=True)
            per_member = F.cross_entropy(logits.float().flatten(0, 1), data.y[idx].flatten(),
                                         reduction="none").view(M, -1).mean(1)
        opt.zero_grad(set_to_none=True)
        if scaler.is_enabled():
            scaler.scale(per_member.sum()).backward()
            scaler.step(opt)
            scaler.update()
        else:
            per_member.sum().backward()  # the sum keeps each member's gradient its own
            opt.step()
    ens.eval()
    return SubsetRuns(ens, members, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# label errors from out-of-sample probabilities (confident learning)


def out_of_sample_proba(build: Callable[[], nn.Module], data: Data, *, n_folds: int = 5,
                        seeds: Sequence[int] = (0,), steps: int = 300, batch_size: int = 128,
                        fold_seed: int = 0, device=None, **fit_kwargs) -> np.ndarray:
    """Predicted probabilities [N, K] for every example from models that never saw it.

    Stratified k-fold cross-fitting (folds from scikit-learn): for each fold, models trained on the
    other folds (one per seed, all folds and seeds at once with :func:`fit_subsets`) predict it,
    and their probabilities are averaged over seeds.
    """
    from sklearn.model_selection import StratifiedKFold
    if not isinstance(data, Data):
        raise TypeError(f"data must be a labkit Data, got {type(data).__name__}")
    n_folds = check_positive_int(n_folds, "n_folds", 2)
    y = data.y.cpu().numpy()
    if np.bincount(y, minlength=data.n_classes).min() < n_folds:
        raise ValueError(f"some class has fewer than n_folds={n_folds} examples; use fewer folds")
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=fold_seed).split(np.zeros(len(y)), y))
    runs = fit_subsets(build, data, [tr for tr, _ in folds], seeds=seeds, steps=steps, batch_size=batch_size,
                       device=device, **fit_kwargs)
    logits = runs.predict_logits(data.X)  # [members, N, K]
    probs = np.zeros((len(data), data.n_classes))
    for f, (_, held) in enumerate(folds):
        rows = [m for m, (i, _) in enumerate(runs.members) if i == f]
        probs[held] = logits[rows][:, torch.as_tensor(held)].softmax(-1).mean(0).cpu().numpy()
    return probs


def find_label_errors(probs, y) -> pd.DataFrame:
    """Confident learning (Northcutt et al. 2021) on out-of-sample probabilities ``probs`` [N, K].

    Per class j a threshold t_j is the mean probability of class j over the examples labelled j.
    An example counts as confidently belonging to class j when p_j >= t_j (the most probable such
    class if several); it is *suspect* when that class is not its given label. Returns one row per
    example, most suspicious first (suspects before the rest, each by increasing probability of the
    given label): ``given``, ``suggested`` (the confident class, or the argmax), ``self_confidence``,
    ``suspect``.
    """
    P = np.asarray(probs, dtype=float)
    if P.ndim != 2 or P.shape[1] < 2:
        raise ValueError(f"probs must have shape [N, K] with K >= 2, got {P.shape}")
    if not np.isfinite(P).all() or (P < 0).any():
        raise ValueError("probs must be finite and non-negative")
    y = check_labels(y, n=len(P), n_classes=P.shape[1]).cpu().numpy()
    K = P.shape[1]
    thresholds = np.array([P[y == j, j].mean() if (y == j).any() else np.inf for j in range(K)])
    above = P >= thresholds[None]
    masked = np.where(above, P, -np.inf)
    confident = masked.argmax(1)
    has = above.any(1)
    suspect = has & (confident != y)
    suggested = np.where(has, confident, P.argmax(1))
    self_conf = P[np.arange(len(y)), y]
    df = pd.DataFrame({"given": y, "suggested": suggested, "self_confidence": self_conf, "suspect": suspect})
    df.index.name = "example"
    return df.sort_values(["suspect", "self_confidence"], ascending=[False, True], kind="stable")


def precision_recall(flagged, truth) -> tuple[float, float]:
    """Precision and recall of the ``flagged`` examples (bool mask or index list) against ``truth``
    (bool mask of the true label errors)."""
    truth = np.asarray(truth.cpu() if isinstance(truth, torch.Tensor) else truth).astype(bool)
    flagged = np.asarray(flagged)
    if flagged.dtype != bool:
        mask = np.zeros(len(truth), dtype=bool)
        mask[flagged.astype(int)] = True
        flagged = mask
    if flagged.shape != truth.shape:
        raise ValueError(f"flagged has shape {flagged.shape} but truth has {truth.shape}")
    hits = (flagged & truth).sum()
    precision = hits / flagged.sum() if flagged.any() else float("nan")
    recall = hits / truth.sum() if truth.any() else float("nan")
    return float(precision), float(recall)


# ----------------------------------------------------------------------------------------------
# data diet


def keep_indices(hardness, keep: float, drop: str = "easiest", seed: int = 0) -> np.ndarray:
    """The indices kept when pruning to a fraction ``keep`` of the examples, dropping the
    ``easiest`` (lowest hardness), the ``hardest`` or a ``random`` subset. Sorted."""
    h = np.asarray(hardness, dtype=float).reshape(-1)
    check_fraction(keep, "keep", 0.0, 1.0, inclusive_low=False)
    check_option(drop, "drop", DIET_STRATEGIES)
    n = len(h)
    n_keep = max(1, int(round(keep * n)))
    if drop == "random":
        return np.sort(np.random.default_rng(seed).choice(n, n_keep, replace=False))
    order = np.argsort(h, kind="stable")  # easiest first
    return np.sort(order[n - n_keep:] if drop == "easiest" else order[:n_keep])


def data_diet(build: Callable[[], nn.Module], train: Data, test: Data, hardness, *,
              fractions: Sequence[float] = (0.3, 0.5, 0.7, 0.9), strategies: Sequence[str] = DIET_STRATEGIES,
              seeds: Sequence[int] = (0, 1), steps: int = 300, batch_size: int = 128, device=None,
              **fit_kwargs) -> pd.DataFrame:
    """Test accuracy after training on subsets of ``train`` pruned by ``hardness``.

    Every model trains for the same number of ``steps`` (the same compute, whatever the subset
    size); all subsets and seeds train at once with :func:`fit_subsets`. Returns one row per
    (strategy, fraction kept) with the mean and standard deviation of the test accuracy over
    seeds; the whole set (fraction 1.0) is the row with strategy ``all``.
    """
    h = np.asarray(hardness, dtype=float).reshape(-1)
    if len(h) != len(train):
        raise ValueError(f"hardness has {len(h)} values but train has {len(train)} examples")
    for strategy in strategies:
        check_option(strategy, "strategy", DIET_STRATEGIES)
    configs = [("all", 1.0, np.arange(len(train)))]
    for strategy in strategies:
        for f in fractions:
            name = "random" if strategy == "random" else f"drop {strategy}"
            configs.append((name, float(f), keep_indices(h, f, strategy, seed=0)))
    runs = fit_subsets(build, train, [c[2] for c in configs], seeds=seeds, steps=steps, batch_size=batch_size,
                       device=device, **fit_kwargs)
    logits = runs.predict_logits(test.X)
    correct = (logits.argmax(-1).cpu() == test.y.cpu()).float().mean(1).numpy()  # [members]
    rows = []
    for c, (name, f, idx) in enumerate(configs):
        accs = correct[[m for m, (i, _) in enumerate(runs.members) if i == c]]
        rows.append({"strategy": name, "kept": f, "n_train": len(idx), "accuracy": float(accs.mean()),
                     "accuracy_std": float(accs.std())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# different architectures, different difficulties


def rank_percentiles(values) -> np.ndarray:
    """Ranks scaled to [0, 1] along the last axis (0 = smallest), ties averaged."""
    from scipy.stats import rankdata
    a = np.asarray(values, dtype=float)
    return (rankdata(a, axis=-1) - 1) / max(1, a.shape[-1] - 1)


def architecture_disagreement(hardness_a, hardness_b) -> np.ndarray:
    """Per example: rank percentile of its hardness under architecture A minus under B ([N];
    positive = harder for A). Inputs are seed-averaged hardness vectors [N] or per-seed [S, N]."""
    a = np.asarray(hardness_a, dtype=float)
    b = np.asarray(hardness_b, dtype=float)
    a = a.mean(0) if a.ndim == 2 else a
    b = b.mean(0) if b.ndim == 2 else b
    if a.shape != b.shape:
        raise ValueError(f"the two hardness vectors differ in length: {a.shape} vs {b.shape}")
    return rank_percentiles(a) - rank_percentiles(b)


def architecture_probe(per_seed_a, per_seed_b, n_examples: int = 10, n_select: int | None = None,
                       folds: int = 4, seed: int = 0) -> dict:
    """Can the scores of a handful of examples tell which architecture produced a run?

    The seeds of each architecture are split: the first ``n_select`` (default half) pick the
    ``n_examples`` examples whose mean rank differs most between A and B; on the remaining runs
    a logistic regression (scikit-learn) sees only those examples' scores (ranked within each run)
    and predicts the architecture, scored by stratified cross-validation. The same with
    ``n_examples`` random examples is the baseline. Returns a dict of accuracies and the chosen
    example indices.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    A = _as_matrix(per_seed_a, "per_seed_a")
    B = _as_matrix(per_seed_b, "per_seed_b")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"the two architectures scored different numbers of examples: {A.shape[1]} vs {B.shape[1]}")
    n_select = min(A.shape[0], B.shape[0]) // 2 if n_select is None else n_select
    ra, rb = rank_percentiles(A), rank_percentiles(B)
    eval_a, eval_b = ra[n_select:], rb[n_select:]
    if min(len(eval_a), len(eval_b)) < folds:
        raise ValueError(f"after {n_select} selection runs only {min(len(eval_a), len(eval_b))} runs per "
                         f"architecture remain for {folds}-fold cross-validation; train more seeds")
    if n_select < 1:
        raise ValueError("n_select must be at least 1")
    diff = ra[:n_select].mean(0) - rb[:n_select].mean(0)
    chosen = np.argsort(-np.abs(diff), kind="stable")[:check_positive_int(n_examples, "n_examples")]
    random_pick = np.random.default_rng(seed).choice(A.shape[1], n_examples, replace=False)
    labels = np.r_[np.zeros(len(eval_a)), np.ones(len(eval_b))]
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)

    def score(cols):
        X = np.vstack([eval_a[:, cols], eval_b[:, cols]])
        return float(cross_val_score(LogisticRegression(max_iter=1000), X, labels, cv=cv).mean())

    return {"accuracy": score(chosen), "accuracy_random_examples": score(random_pick), "examples": chosen,
            "random_examples": random_pick, "n_eval_runs": int(len(labels))}


# ----------------------------------------------------------------------------------------------
# plots


def plot_correlations(corr: pd.DataFrame, ax=None, title: str = "Spearman correlation between scores"):
    """A heat map of a score correlation matrix with its values written in."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.4))
    im = ax.imshow(corr.values, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(corr)), corr.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(corr)), corr.index)
    for i in range(len(corr)):
        for j in range(len(corr)):
            ax.text(j, i, f"{corr.values[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(corr.values[i, j]) > 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    return ax


def plot_seed_agreement(curves: dict, ax=None):
    """Spearman correlation with an independent reference against the number of runs averaged;
    ``curves`` maps a score name to a :func:`seed_agreement` frame."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, df in curves.items():
        ax.errorbar(df["runs_averaged"], df["spearman_mean"], yerr=df["spearman_std"], marker="o",
                    capsize=3, label=name)
    ax.set(xlabel="runs averaged", ylabel="rank correlation with reference", title="Seed sensitivity")
    ax.legend(fontsize=8)
    return ax


def plot_data_diet(df: pd.DataFrame, ax=None, title: str = "Data diet"):
    """Test accuracy against the fraction of the training set kept, one line per strategy."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    full = df[df.strategy == "all"]
    for strategy, part in df[df.strategy != "all"].groupby("strategy", sort=False):
        part = pd.concat([part, full]).sort_values("kept")
        ax.errorbar(part["kept"], part["accuracy"], yerr=part["accuracy_std"], marker="o", capsize=3,
                    label=strategy)
    ax.set(xlabel="fraction of training set kept", ylabel="test accuracy", title=title)
    ax.legend(fontsize=8)
    return ax


def plot_depth(scores: DifficultyScores, ax=None):
    """Histogram of (seed-averaged, rounded) prediction depths on the training set and, if
    computed, on the extra split; proportions so different sizes compare."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    L = scores.n_layers
    bins = np.arange(L + 2) - 0.5
    ax.hist(scores.per_seed["depth"].ravel(), bins=bins, density=True, alpha=0.6, label="training split")
    if scores.depth_val is not None:
        ax.hist(scores.depth_val.ravel(), bins=bins, density=True, alpha=0.6, label="validation split")
    ax.set(xlabel="prediction depth (0 = input layer)", ylabel="fraction of examples",
           xticks=range(L + 1), title="Prediction depth")
    ax.legend(fontsize=8)
    return ax


def show_examples(data: Data, index, values=None, value_name: str = "", ncols: int = 8, title: str | None = None,
                  predicted=None):
    """Images of the examples at ``index`` titled with their given label (and a value, a
    predicted label); red titles mark examples whose label was flipped (``meta['flipped']``)."""
    from .plots import show_images
    index = np.array(index, dtype=int).reshape(-1)
    if len(index) == 0:
        raise ValueError("no examples to show")
    flipped = data.meta.get("flipped")
    titles, colours = [], []
    for j, i in enumerate(index):
        t = f"y={data.classes[int(data.y[i])]}"
        if predicted is not None:
            t += f" p={data.classes[int(predicted[j])]}"
        if values is not None:
            t += f"\n{value_name}{float(values[j]):.2f}"
        titles.append(t)
        colours.append("red" if flipped is not None and bool(flipped[i]) else "black")
    return show_images(data.X[torch.as_tensor(index)].cpu(), titles=titles, ncols=ncols, title=title,
                       title_colors=colours)


# ----------------------------------------------------------------------------------------------
# the widget: pure selection logic, then a thin ipywidgets wrapper


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
    import io

    import matplotlib.pyplot as plt
    rows = select_examples(table, score, slice, n, other)
    if "disagreement" in rows:
        values, label = rows["disagreement"], "Δrank "
        title = f"largest disagreement on {score} (Δrank > 0: harder here than for the {other_name})"
    else:
        values, label = rows[score], f"{score} "
        title = f"{slice} {len(rows)} by {score}"
    fig = show_examples(data, rows.index.to_numpy(), values.to_numpy(), label, title=title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


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
