"""Do deep networks learn shallow-learnable examples first? (lecture L3)

A classical model M (an RBF SVM, a random forest, any scikit-learn classifier) is fitted once; a
deep net D is trained from scratch, and after training steps the 2x2 *contingency table* T of the
two models' correctness on the test set is recorded:

    ==============  ============  ==========
    T[d, m]         M incorrect   M correct
    ==============  ============  ==========
    D incorrect     T00           T01
    D correct       T10           T11
    ==============  ============  ==========

so ``T[1, 0]`` (= T10) counts the test examples that D gets right and M gets wrong. From T:

* acc(M) = (T01 + T11) / N and acc(D) = (T10 + T11) / N,
* R+ = T11 / (T01 + T11): D's accuracy on the examples M gets right (*shallow-learnable*),
* R- = T10 / (T00 + T10): D's accuracy on the examples M gets wrong,
* R+- = R+ / R-: how much more of the shallow-learnable part D has learned.

Edge cases: R+ (R-) is NaN when M gets no (every) test example right, because D's accuracy on an
empty set is undefined; R+- is NaN when R+ or R- is NaN or both are 0, and +inf when R- = 0 < R+.

The design follows Mangalam & Prabhu (ICML 2019 workshop "Identifying and understanding deep
learning phenomena"). Typical use::

    >>> from labkit import contingency as ct
    >>> train, val, test = ct.shifted_digits()
    >>> svm = ct.fit_classical("svm", train, test)
    >>> tracker = ct.ContingencyTracker(test, {"SVM": svm}, dense_steps=60)
    >>> _, history, run = ct.track(lambda: lk.models.make_model("mlp", train), train, tracker,
    ...                            seeds=[0, 1, 2, 3], epochs=10)
    >>> curves = run.curves("SVM"); ct.plot_ratio(curves)

Tracking is cheap by design: M's predictions are computed once; the tracker keeps the test set on
D's device and only stores whether D is right on each test example (one boolean per example and
recorded step), evaluating in large batches without gradients. It records every step while the
early peak forms (``dense_steps``) and log-spaced steps after that, so evaluating the test set does
not cost more than training. T for any M is derived from the stored correctness afterwards.
"""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

from . import runtime
from .data.core import Data, Splits, train_val_test_split
from .data.embedded import load_digits
from .training import Ensemble, fit, fit_many
from .validation import check_fraction, check_option, check_positive_int

CELLS = ("00", "01", "10", "11")
CELL_NAMES = {"00": "both wrong", "01": "only M right", "10": "only D right", "11": "both right"}
CLASSICAL_KINDS = ("svm", "forest")


# ----------------------------------------------------------------------------------------------
# the data of the class-scale lecture


def shift_digits(data: Data, canvas: int = 16, copies: int = 1, seed: int = 0) -> Data:
    """Paste every image of ``data`` (e.g. 8x8 digits) at ``copies`` random positions of a blank
    ``canvas`` x ``canvas`` image. Returns Data with X [N * copies, C, canvas, canvas] and meta
    ``source`` (the index of the original image) and ``offset`` ([.., 2], row and column)."""
    if not isinstance(data, Data) or not data.is_image:
        raise TypeError("shift_digits needs a labkit Data of images [N, C, H, W], e.g. lk.data.load_digits()")
    copies = check_positive_int(copies, "copies")
    n, c, h, w = data.X.shape
    canvas = check_positive_int(canvas, "canvas", max(h, w))
    rng = np.random.default_rng(seed)
    X = torch.zeros(n * copies, c, canvas, canvas)
    offsets = torch.from_numpy(rng.integers(0, canvas - max(h, w) + 1, size=(n * copies, 2)))
    source = torch.arange(n).repeat(copies)
    images = data.X.cpu()
    for i in range(n * copies):
        r, q = int(offsets[i, 0]), int(offsets[i, 1])
        X[i, :, r:r + h, q:q + w] = images[int(source[i])]
    return Data(X, data.y.cpu().repeat(copies), classes=list(data.classes),
                name=f"{data.name}, shifted in {canvas}x{canvas}", meta={"source": source, "offset": offsets})


def shifted_digits(canvas: int = 16, train_copies: int = 3, test: float = 0.4, val: float = 0.1,
                   seed: int = 0) -> Splits:
    """The lecture's embedded data: scikit-learn's 8x8 digits at random positions of a larger canvas.

    The 1,797 digits are split first (stratified, by ``seed``), so no digit appears in two splits;
    each training digit is then pasted at ``train_copies`` random positions, each validation and test
    digit at one. A pixel-based classical model has no notion of "the same stroke, moved", so it
    makes hundreds of test errors here (as on CIFAR-10), while a convolutional net does not have to.
    """
    check_positive_int(train_copies, "train_copies")
    tr, va, te = train_val_test_split(load_digits(), val=val, test=test, seed=seed)
    return Splits(shift_digits(tr, canvas, train_copies, seed + 1),
                  shift_digits(va, canvas, 1, seed + 2) if va is not None else None,
                  shift_digits(te, canvas, 1, seed + 3))


def real_splits(name: str, val: int = 5000, seed: int = 0, root=None, download: bool = True) -> Splits:
    """The lecture's ``full``-scale data: a real set's training split minus ``val`` examples
    (stratified; for the forest's early stopping), the held-out ``val``, and the real test split.

    name : ``"mnist"`` | ``"cifar10"`` (or any name :func:`labkit.data.load_real` knows).
    Needs the files or a working download; offline it says how to run the lecture on embedded data.
    """
    from sklearn.model_selection import train_test_split

    from .data.real import load_real

    try:
        train = load_real(name, train=True, root=root, download=download)
        test = load_real(name, train=False, root=root, download=download)
    except (RuntimeError, FileNotFoundError) as err:
        raise RuntimeError(f"The full scale of this lecture needs {name}, which could not be loaded: {err} "
                           "To run the lecture on the embedded shifted digits instead, set "
                           "LABKIT_SCALE=class (or smoke) before starting the notebook.") from err
    val = check_positive_int(val, "val")
    if val >= len(train):
        raise ValueError(f"val={val} leaves nothing to train on: {name} has {len(train)} training examples")
    idx = np.arange(len(train))
    labels = train.y.cpu().numpy()
    stratify = labels if np.bincount(labels).min() >= 2 else None
    rest, held = train_test_split(idx, test_size=val, random_state=seed, stratify=stratify)
    return Splits(train.subset(np.sort(rest)), train.subset(np.sort(held)), test)


# ----------------------------------------------------------------------------------------------
# the contingency table and its ratios


def _as_bool(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except Exception as err:  # noqa: BLE001 - explain any conversion failure the same way
        raise TypeError(f"{name} must be an array of booleans (or 0/1), got {type(x).__name__}: {err}") from None
    if a.dtype == bool:
        return a
    if a.dtype.kind not in "iuf" or not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must hold booleans or 0/1 (is the prediction right?), "
                         f"got values such as {np.unique(a)[:5].tolist()}; compare predictions with labels first")
    return a.astype(bool)


def contingency_table(m_correct, d_correct) -> np.ndarray:
    """The table T[d, m] of counts: rows D incorrect / correct, columns M incorrect / correct.

    ``m_correct`` is a boolean vector [N] (M right on each test example); ``d_correct`` is [N] or has
    leading axes ([steps, N], [steps, seeds, N]), giving one table per leading index: [..., 2, 2].
    """
    m = _as_bool(m_correct, "m_correct")
    d = _as_bool(d_correct, "d_correct")
    if m.ndim != 1:
        raise ValueError(f"m_correct must be a vector [N], got shape {m.shape}")
    if m.size == 0:
        raise ValueError("m_correct is empty; the table needs at least one test example")
    if d.ndim == 0 or d.shape[-1] != m.shape[0]:
        raise ValueError(f"d_correct must end with the {m.shape[0]} test examples of m_correct, got shape {d.shape}")
    t11 = (d & m).sum(-1)
    t10 = (d & ~m).sum(-1)
    t01 = (~d & m).sum(-1)
    t00 = (~d & ~m).sum(-1)
    return np.stack([np.stack([t00, t01], -1), np.stack([t10, t11], -1)], -2)


def table_from_predictions(y, m_pred, d_pred) -> np.ndarray:
    """T[d, m] from labels and the two models' predicted labels (all vectors [N])."""
    y, m_pred, d_pred = (np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v) for v in (y, m_pred, d_pred))
    for name, v in (("y", y), ("m_pred", m_pred), ("d_pred", d_pred)):
        if v.ndim != 1:
            raise ValueError(f"{name} must be a vector of class labels [N], got shape {v.shape}")
    if not (len(y) == len(m_pred) == len(d_pred)):
        raise ValueError(f"y, m_pred and d_pred must have the same length, got {len(y)}, {len(m_pred)}, {len(d_pred)}")
    return contingency_table(m_pred == y, d_pred == y)


@dataclass
class Rates:
    """Accuracies and ratios derived from T; arrays when T had leading axes."""

    acc_m: np.ndarray
    acc_d: np.ndarray
    r_plus: np.ndarray
    r_minus: np.ndarray
    r_pm: np.ndarray


def rates(T) -> Rates:
    """acc(M), acc(D), R+, R- and R+- of one table [2, 2] or many [..., 2, 2] (see the module doc
    for the empty-subset rules: NaN where a subset is empty or for 0/0, inf for x/0 with x > 0)."""
    T = np.asarray(T.cpu() if isinstance(T, torch.Tensor) else T, dtype=np.float64)
    if T.ndim < 2 or T.shape[-2:] != (2, 2):
        raise ValueError(f"T must have shape [2, 2] (or [..., 2, 2]), got {T.shape}")
    if (T < 0).any() or not np.isfinite(T).all():
        raise ValueError("T must hold non-negative, finite counts")
    t00, t01, t10, t11 = T[..., 0, 0], T[..., 0, 1], T[..., 1, 0], T[..., 1, 1]
    total = t00 + t01 + t10 + t11
    if (total == 0).any():
        raise ValueError("T counts no examples at all; it needs at least one test example")
    with np.errstate(divide="ignore", invalid="ignore"):
        m_right, m_wrong = t01 + t11, t00 + t10
        r_plus = np.where(m_right > 0, t11 / np.where(m_right > 0, m_right, 1), np.nan)
        r_minus = np.where(m_wrong > 0, t10 / np.where(m_wrong > 0, m_wrong, 1), np.nan)
        r_pm = np.true_divide(r_plus, r_minus)  # x/0 -> inf, 0/0 -> nan, nan stays nan
    out = Rates(acc_m=m_right / total, acc_d=(t10 + t11) / total, r_plus=r_plus, r_minus=r_minus, r_pm=r_pm)
    if T.ndim == 2:
        out = Rates(*(float(v) for v in (out.acc_m, out.acc_d, out.r_plus, out.r_minus, out.r_pm)))
    return out


# ----------------------------------------------------------------------------------------------
# the classical model M, fitted once


@dataclass
class Classical:
    """A fitted classical model's predictions on the test set (what the tracker needs of M).

    ``pred`` [N] predicted labels, ``correct`` [N] booleans, ``margin`` [N] the score of the true
    class minus the best other class (decision function or probabilities; > 0 where M is right),
    ``seconds`` the time to fit and predict (0 when loaded from the cache), ``n_train`` the
    examples it was fitted on, ``estimator`` the fitted model (None when loaded from the cache).
    """

    name: str
    pred: np.ndarray
    correct: np.ndarray
    margin: np.ndarray
    seconds: float
    n_train: int
    cached: bool = False
    estimator: object = None
    details: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    @property
    def n_incorrect(self) -> int:
        """How many test examples M gets wrong: the set on which R- is measured."""
        return int((~self.correct).sum())

    def __repr__(self) -> str:
        src = "cache" if self.cached else f"{self.seconds:.1f} s"
        return (f"Classical({self.name!r}, accuracy={self.accuracy:.4f}, wrong on {self.n_incorrect} of "
                f"{len(self.correct)} test examples, fitted on {self.n_train} ({src}))")


def forest_early_stopping(X, y, X_val, y_val, step: int = 10, patience: int = 3, max_trees: int = 300,
                          seed: int = 0, n_jobs: int | None = None, **params):
    """A random forest grown ``step`` trees at a time until validation accuracy has not improved for
    ``patience`` rounds (or ``max_trees`` is reached); returns it cut back to the best size."""
    from sklearn.ensemble import RandomForestClassifier

    step = check_positive_int(step, "step")
    patience = check_positive_int(patience, "patience")
    max_trees = check_positive_int(max_trees, "max_trees", step)
    forest = RandomForestClassifier(n_estimators=step, warm_start=True, random_state=seed, n_jobs=n_jobs, **params)
    best, best_n, since, curve = -1.0, step, 0, []
    while True:
        forest.fit(X, y)
        acc = float((forest.predict(X_val) == y_val).mean())
        curve.append((forest.n_estimators, acc))
        if acc > best + 1e-9:
            best, best_n, since = acc, forest.n_estimators, 0
        else:
            since += 1
        if since >= patience or forest.n_estimators + step > max_trees:
            break
        forest.n_estimators += step
    forest.estimators_ = forest.estimators_[:best_n]
    forest.n_estimators = best_n
    forest.validation_curve_ = curve
    return forest


def _subsample(X, y, n: int | None, seed: int):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(X, y, train_size=n, random_state=seed, stratify=y)
    return X, y


def _fingerprint(*arrays, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:20]


def _margin(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    true = scores[np.arange(len(y)), y]
    other = scores.copy()
    other[np.arange(len(y)), y] = -np.inf
    return true - other.max(1)


def fit_classical(model, train: Data, test: Data, val: Data | None = None, *, max_train: int | None = None,
                  seed: int = 0, cache_dir=None, name: str | None = None, n_jobs: int | None = None) -> Classical:
    """Fit a classical model M on ``train`` (flattened pixels) and predict ``test``, once.

    model : ``"svm"`` (RBF kernel, ``C=10``, ``gamma="scale"``), ``"forest"`` (a random forest with
        early stopping on ``val``: grown 10 trees at a time while validation accuracy improves;
        without ``val``, 10 % of ``train`` is held out for it), or any unfitted scikit-learn classifier.
    max_train : fit on a stratified subsample of this size (an RBF SVM's fit time grows roughly with
        the square of the training-set size: on full MNIST it is the slow part of the lecture).
    cache_dir : if given, the predictions are stored there under a hash of the model, its parameters
        and the data, and later calls with the same inputs load them instead of fitting again.
    """
    from sklearn.base import clone, is_classifier

    if not isinstance(train, Data) or not isinstance(test, Data):
        raise TypeError("train and test must be labkit Data (use lk.data.Data(X, y) to wrap arrays)")
    if isinstance(model, str):
        check_option(model, "classical model", CLASSICAL_KINDS)
        kind, label = model, name or {"svm": "SVM", "forest": "RF"}[model]
    else:
        try:
            ok = hasattr(model, "fit") and hasattr(model, "predict") and is_classifier(model)
        except (AttributeError, TypeError):
            ok = False
        if not ok:
            raise TypeError(f"model must be 'svm', 'forest' or a scikit-learn classifier, got {type(model).__name__}")
        kind, label = "estimator", name or type(model).__name__
    if max_train is not None:
        max_train = check_positive_int(max_train, "max_train", train.n_classes * 2)
    X, y = train.flat(), train.y.cpu().numpy()
    Xt, yt = test.flat(), test.y.cpu().numpy()
    description = kind if kind != "estimator" else repr(model)
    key = _fingerprint(X, y, Xt, yt, *((val.flat(), val.y.cpu().numpy()) if val is not None else ()),
                       extra=f"{description}|{max_train}|{seed}|v1")
    path = Path(cache_dir) / f"{label.replace(' ', '_')}-{key}.npz" if cache_dir is not None else None
    if path is not None and path.exists():
        saved = np.load(path, allow_pickle=False)
        details = json.loads(str(saved["details"]))
        return Classical(label, saved["pred"], saved["pred"] == yt, saved["margin"], 0.0, int(saved["n_train"]),
                         cached=True, details=details)

    start = time.perf_counter()
    Xs, ys = _subsample(X, y, max_train, seed)
    details = {}
    if kind == "svm":
        from sklearn.svm import SVC

        est = SVC(kernel="rbf", C=10.0, gamma="scale", random_state=seed).fit(Xs, ys)
    elif kind == "forest":
        if val is not None:
            Xv, yv = val.flat(), val.y.cpu().numpy()
        else:
            from sklearn.model_selection import train_test_split

            Xs, Xv, ys, yv = train_test_split(Xs, ys, test_size=0.1, random_state=seed, stratify=ys)
        est = forest_early_stopping(Xs, ys, Xv, yv, seed=seed, n_jobs=n_jobs)
        details["trees"] = est.n_estimators
        details["validation_curve"] = est.validation_curve_
    else:
        est = clone(model).fit(Xs, ys)
    pred = np.asarray(est.predict(Xt))
    if hasattr(est, "decision_function"):
        scores = np.asarray(est.decision_function(Xt), dtype=np.float64)
    else:
        scores = np.asarray(est.predict_proba(Xt), dtype=np.float64)
    if scores.ndim == 1:  # binary decision function: score of class 1
        scores = np.stack([-scores, scores], 1)
    classes = np.asarray(est.classes_)
    full = np.full((len(yt), test.n_classes), -np.inf)
    full[:, classes] = scores
    margin = _margin(full, yt)
    seconds = time.perf_counter() - start
    details["seconds"] = seconds
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, pred=pred, margin=margin, n_train=len(ys), details=json.dumps(details))
    return Classical(label, pred, pred == yt, margin, seconds, len(ys), estimator=est, details=details)


def _m_correct(m, n: int, name: str) -> np.ndarray:
    correct = m.correct if isinstance(m, Classical) else _as_bool(m, f"M {name!r}")
    if correct.shape != (n,):
        raise ValueError(f"M {name!r} has {correct.shape[0] if correct.ndim else 0} predictions but the test set "
                         f"has {n} examples; fit it on the same test set")
    return correct


# ----------------------------------------------------------------------------------------------
# tracking D during training


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


def _model_device(model) -> torch.device:
    if isinstance(model, Ensemble):
        return next(iter(model.params.values())).device
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


_REUSED = ("this tracker has already recorded a training run; create a new ContingencyTracker for each run "
           "(the classical models can be shared)")


def _member(ens: Ensemble, s: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The forward pass of seed ``s`` of an Ensemble, without copying its parameters."""
    params = {k: v[s] for k, v in ens.params.items()}
    buffers = {k: v[s] for k, v in ens.buffers.items()}
    return lambda x: functional_call(ens._template, (params, buffers), (x,))


class ContingencyTracker:
    """A training callback that records which test examples D gets right, at scheduled steps.

    Parameters
    ----------
    test : the test Data (kept on D's device after the first call)
    classical : a :class:`Classical` (or a boolean vector: M right per test example), or a dict
        name -> one of those; more can be given later to :meth:`ContingencyRun.curves`
    dense_steps : record every step up to this one (default: one epoch), then ``n_sparse``
        log-spaced steps to the end
    batch_size : test examples per forward pass

    Call :meth:`start` with the freshly initialised model before training to record step 0, pass
    the tracker in ``callbacks=`` of :func:`labkit.fit` or :func:`labkit.fit_many` (one run per
    tracker), then call :meth:`result`. :func:`track` does all three.
    """

    def __init__(self, test: Data, classical=None, dense_steps: int | None = None, n_sparse: int = 60,
                 batch_size: int = 4096):
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
        self._X = self._y = None
        self._schedule = None
        self._buffer = None
        self._steps = []
        self._initial = None
        self._spe = self._total = None
        self.seconds = 0.0
        self.calls = 0

    def _prepare(self, model):
        device = _model_device(model)
        if self._X is None or self._X.device != device:
            X = self.test.X.to(device)
            if device.type == "cuda" and X.dim() == 4:
                X = X.contiguous(memory_format=torch.channels_last)
            self._X, self._y = X, self.test.y.to(device)

    @torch.no_grad()
    def _correct(self, model) -> torch.Tensor:
        """D right on each test example: [N], or [S, N] for an Ensemble of S seeds."""
        self._prepare(model)
        was = model._template.training if isinstance(model, Ensemble) else model.training
        model.eval()
        try:
            with runtime.autocast(self._X.device):
                if isinstance(model, Ensemble):
                    # one seed at a time: on a CPU this is about twice as fast as the vmapped forward
                    preds = torch.stack([self._predict(_member(model, s)) for s in range(len(model))])
                else:
                    preds = self._predict(model)
        finally:
            model.train(was)
        return preds == self._y

    def _predict(self, forward) -> torch.Tensor:
        return torch.cat([forward(self._X[i:i + self.batch_size]).argmax(-1)
                          for i in range(0, len(self._X), self.batch_size)])

    def start(self, model) -> "ContingencyTracker":
        """Record the untrained model (step 0)."""
        if self._initial is not None or self._steps:
            raise RuntimeError(_REUSED)
        t = time.perf_counter()
        self._initial = self._correct(model)
        self.seconds += time.perf_counter() - t
        return self

    def __call__(self, state) -> None:
        if self._schedule is None:
            self._spe, self._total = state.steps_per_epoch, state.total_steps
            dense = state.steps_per_epoch if self.dense_steps is None else self.dense_steps
            self._dense_used = min(dense, state.total_steps)
            self._schedule = set(tracking_schedule(state.total_steps, self._dense_used, self.n_sparse).tolist())
            self._schedule.discard(0)
        if state.step not in self._schedule and not state.stop:
            return
        if self._steps and state.step <= self._steps[-1]:
            raise RuntimeError(_REUSED)
        t = time.perf_counter()
        correct = self._correct(state.model)
        if self._buffer is None:
            self._buffer = torch.empty((len(self._schedule) + 1, *correct.shape), dtype=torch.bool,
                                       device=correct.device)
        self._buffer[len(self._steps)].copy_(correct)
        self._steps.append(state.step)
        self.calls += 1
        self.seconds += time.perf_counter() - t

    def result(self, classical=None) -> "ContingencyRun":
        """The recorded run; ``classical`` adds or replaces models M (dict name -> Classical)."""
        if self._buffer is None and self._initial is None:
            raise RuntimeError("nothing was recorded: pass the tracker in callbacks=[...] of lk.fit "
                               "(and call tracker.start(model) before training to record step 0)")
        ms = dict(self.classical)
        if classical is not None:
            ms.update(classical if isinstance(classical, Mapping) else {getattr(classical, "name", "M"): classical})
        rows, steps = [], []
        if self._initial is not None:
            rows.append(self._initial.unsqueeze(0).cpu())
            steps.append(0)
        if self._buffer is not None:
            rows.append(self._buffer[:len(self._steps)].cpu())
            steps.extend(self._steps)
        d = torch.cat(rows).numpy()
        if d.ndim == 2:  # one model: add a seed axis of length 1
            d = d[:, None, :]
        spe = self._spe or 1
        return ContingencyRun(steps=np.asarray(steps), steps_per_epoch=spe, total_steps=self._total or 0,
                              dense_steps=getattr(self, "_dense_used", 0), d_correct=d,
                              m_correct={k: _m_correct(v, len(self.test), k) for k, v in ms.items()},
                              classical={k: v for k, v in ms.items() if isinstance(v, Classical)},
                              y=self.test.y.cpu().numpy(), tracking_seconds=self.seconds)


@dataclass
class Curves:
    """R+-, R+, R-, accuracies and tables over the recorded steps of one (D, M) pair."""

    m_name: str
    steps: np.ndarray
    epochs: np.ndarray
    tables: np.ndarray  # [R, 2, 2], mean over seeds
    rates: Rates
    dense_steps: int
    steps_per_epoch: int
    n_seeds: int

    def to_frame(self) -> pd.DataFrame:
        r = self.rates
        return pd.DataFrame({"step": self.steps, "epoch": self.epochs, "T00": self.tables[:, 0, 0],
                             "T01": self.tables[:, 0, 1], "T10": self.tables[:, 1, 0], "T11": self.tables[:, 1, 1],
                             "acc_M": r.acc_m, "acc_D": r.acc_d, "R+": r.r_plus, "R-": r.r_minus, "R+-": r.r_pm})

    def summary(self) -> dict:
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
class ContingencyRun:
    """What a tracked run recorded: D's correctness per recorded step (and seed), and the Ms.

    ``d_correct`` is a boolean array [R, S, N] (recorded steps, seeds, test examples).
    """

    steps: np.ndarray
    steps_per_epoch: int
    total_steps: int
    dense_steps: int
    d_correct: np.ndarray
    m_correct: dict
    classical: dict
    y: np.ndarray
    tracking_seconds: float = 0.0

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

    def curves(self, m=None, balanced: bool = False) -> Curves:
        """The curves of D against M (a name of this run, a Classical or a boolean vector).

        ``balanced=True`` gives the class-balanced variant: R+ (R-) is the mean over classes of D's
        accuracy on the M-correct (M-incorrect) examples of that class, classes with an empty subset
        left out, and acc(M), acc(D) are mean per-class accuracies. A D that answers one class for
        every input then has R+ = R- = 1/K, so R+- = 1 exactly. ``tables`` stay the plain counts.
        """
        name, mc = self._m(m)
        tables = contingency_table(mc, self.d_correct).mean(1)  # [R, 2, 2], mean over seeds
        r = rates(tables)
        if balanced:
            per_class = [rates(contingency_table(mc[self.y == k], self.d_correct[..., self.y == k]).mean(1))
                         for k in np.unique(self.y)]
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a class whose subset is empty: NaN, skipped
                mean = {f: np.nanmean([getattr(p, f) for p in per_class], 0)
                        for f in ("acc_m", "acc_d", "r_plus", "r_minus")}
                r = Rates(mean["acc_m"], mean["acc_d"], mean["r_plus"], mean["r_minus"],
                          np.true_divide(mean["r_plus"], mean["r_minus"]))
            name = f"{name}, class-balanced"
        return Curves(name, self.steps, self.epochs, tables, r, self.dense_steps,
                      self.steps_per_epoch, self.n_seeds)

    def table(self, m=None, step: int | None = None, seed: int = 0) -> np.ndarray:
        """The integer table T[d, m] of one seed at a recorded step (default: the last)."""
        _, mc = self._m(m)
        i = len(self.steps) - 1 if step is None else self.index_of(step)
        return contingency_table(mc, self.d_correct[i, seed])

    def cells(self, m=None, step: int | None = None, seed: int = 0) -> dict:
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


def track(model, train: Data, tracker: ContingencyTracker, *, seeds: Sequence[int] | None = None,
          **fit_kwargs):
    """Train D with ``tracker`` recording from step 0; returns ``(trained, history, run)``.

    model : an nn.Module (trained in place with :func:`labkit.fit`; ``trained`` is that module), or
        with ``seeds`` a function building one (trained for every seed at once with
        :func:`labkit.fit_many`; ``trained`` is the :class:`~labkit.training.Ensemble`, the run
        holds every seed, and its curves use the mean table over seeds).
    fit_kwargs : passed on (``epochs``/``steps``, ``batch_size``, ``lr``, ``optimizer`` ...).
    """
    if not isinstance(tracker, ContingencyTracker):
        raise TypeError("tracker must be a ContingencyTracker")
    callbacks = list(fit_kwargs.pop("callbacks", ())) + [tracker]
    fit_kwargs.setdefault("progress", False)
    if seeds is None:
        if not isinstance(model, nn.Module):
            raise TypeError("model must be an nn.Module (or pass seeds=[...] and a function that builds one)")
        model.to(fit_kwargs.get("device") or runtime.get_device())
        tracker.start(model)
        history = fit(model, train, callbacks=callbacks, **fit_kwargs)
        return model, history, tracker.result()
    if isinstance(model, nn.Module) or not callable(model):
        raise TypeError("with seeds=[...], model must be a function that builds a fresh model")
    # fit_many seeds each model with its seed before building it: build the same initial models here
    # to record step 0 (labkit's seeding makes them identical on the CPU).
    device = torch.device(fit_kwargs.get("device") or runtime.get_device())
    initial = []
    for s in seeds:
        runtime.seed_everything(int(s))
        initial.append(model().to(device))
    tracker.start(Ensemble(initial))
    ensemble, history = fit_many(model, train, seeds=seeds, callbacks=callbacks, **fit_kwargs)
    return ensemble, history, tracker.result()


def constant_guess_ratios(m_correct, y, n_classes: int | None = None) -> np.ndarray:
    """R+- of a D that answers class c for every input, for each class c: [n_classes].

    An untrained net often says (almost) the same class for everything; its R+- is then the share
    of class c among the examples M gets right divided by its share among those M gets wrong. This
    is why R+- at step 0 is near 1 but not exactly 1: it is 1 only if M's errors spread over the
    classes like its correct answers do.
    """
    m = _as_bool(m_correct, "m_correct")
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if y.shape != m.shape:
        raise ValueError(f"y and m_correct must both be vectors [N] of the same length, got {y.shape} and {m.shape}")
    k = int(y.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes", int(y.max()) + 1)
    T = np.stack([contingency_table(m, y == c) for c in range(k)])
    return rates(T).r_pm


# ----------------------------------------------------------------------------------------------
# what did not happen: the two alternative shapes


def alternative_shapes(curves: Curves) -> dict:
    """The curves R+- would have followed under the two hypotheses the experiment rules out.

    ``"flat"``: D's learning ignores what M finds easy, so R+- stays at 1. ``"steady rise"``: the
    M-correct examples keep their lead in proportion to D's progress, so R+- climbs from its start to
    its final value in step with D's accuracy, without overshooting.
    """
    r = curves.rates
    flat = np.ones_like(r.r_pm)
    acc = r.acc_d
    span = acc[-1] - acc[0]
    progress = np.clip((acc - acc[0]) / span, 0, 1) if abs(span) > 1e-12 else np.zeros_like(acc)
    progress = np.maximum.accumulate(progress)
    rise = r.r_pm[0] + (r.r_pm[-1] - r.r_pm[0]) * progress if np.isfinite(r.r_pm[[0, -1]]).all() else flat * np.nan
    return {"flat at 1": flat, "steady rise": rise}


# ----------------------------------------------------------------------------------------------
# plots


def _step_axis(ax, curves: Curves, show_schedule: bool = True):
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("symlog", linthresh=1.0, linscale=0.3)
    ax.set_xlim(0, max(int(curves.steps[-1]), 1) * 1.05)
    ax.set_xlabel("training step (log scale)")
    spe = curves.steps_per_epoch
    top = ax.secondary_xaxis("top", functions=(lambda s: np.asarray(s) / spe, lambda e: np.asarray(e) * spe))
    top.set_xscale("symlog", linthresh=1.0 / spe, linscale=0.3)  # the same symlog, in epochs: aligned ticks
    top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    top.set_xlabel("epoch")
    if show_schedule:
        ax.plot(curves.steps, np.zeros_like(curves.steps, dtype=float), "|", color="0.5", ms=6,
                transform=ax.get_xaxis_transform(), clip_on=False)
        if curves.dense_steps:
            ax.axvspan(0, curves.dense_steps, color="0.93", zorder=0)
            ax.text(0.01, 0.03, f"recorded: every step to {curves.dense_steps}, then log-spaced "
                    f"({len(curves.steps)} steps in all, ticks)", transform=ax.transAxes, fontsize=7, color="0.35")
    return top


def plot_ratio(curves, ax=None, alternatives: bool = True, show_schedule: bool = True, title: str | None = None):
    """R+- against training steps (log scale; epochs on the top axis), with the peak marked and, if
    ``alternatives``, the two shapes that would have meant "no preference" or "no peak".
    ``curves`` is one :class:`Curves` or a dict label -> Curves drawn on the same axes."""
    import matplotlib.pyplot as plt

    many = curves if isinstance(curves, Mapping) else {curves.m_name: curves}
    if not many:
        raise ValueError("no curves to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    first = next(iter(many.values()))
    for k, (label, c) in enumerate(many.items()):
        r = c.rates.r_pm
        ax.plot(c.steps, r, "-", color=f"C{k}", lw=1.6, label=f"{label}")
        s = c.summary()
        if np.isfinite(s["peak"]):
            ax.plot([s["peak_step"]], [s["peak"]], "o", color=f"C{k}", ms=5)
    if alternatives:
        alt = alternative_shapes(first)
        ax.plot(first.steps, alt["flat at 1"], "--", color="0.3", lw=1, label="did not happen: flat at 1")
        ax.plot(first.steps, alt["steady rise"], ":", color="0.3", lw=1.4,
                label="did not happen: steady rise, no peak" + (f" ({first.m_name})" if len(many) > 1 else ""))
    _step_axis(ax, first, show_schedule)
    ax.set_ylabel("R± = R+ / R−")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_rates(curves: Curves, ax=None, title: str | None = None):
    """R+ (D's accuracy on M-correct), R- (on M-incorrect) and D's overall accuracy over steps,
    with M's accuracy as a horizontal line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    r = curves.rates
    ax.plot(curves.steps, r.r_plus, color="C2", label="R+  (D's accuracy where M is right)")
    ax.plot(curves.steps, r.acc_d, color="k", lw=1.2, label="acc(D)  (all test examples)")
    ax.plot(curves.steps, r.r_minus, color="C3", label="R−  (D's accuracy where M is wrong)")
    ax.axhline(r.acc_m[-1], color="0.5", ls="--", lw=1, label=f"acc(M) = {r.acc_m[-1]:.3f}")
    _step_axis(ax, curves, show_schedule=True)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_cells(images, run: ContingencyRun, m=None, step: int | None = None, seed: int = 0, per_cell: int = 6,
               labels: Sequence[str] | None = None, sample_seed: int = 0):
    """The 2x2 table drawn as a grid: in each cell its count and up to ``per_cell`` test images."""
    view = cell_view(run, m, step, seed, per_cell, sample_seed)
    return render_cells(images, view, labels)


@dataclass
class CellView:
    """What the widget shows for one (D run, M, step): the table and example indices per cell."""

    m_name: str
    step: int
    epoch: float
    table: np.ndarray
    examples: dict
    rates: Rates


def cell_view(run: ContingencyRun, m=None, step: int | None = None, seed: int = 0, per_cell: int = 6,
              sample_seed: int = 0) -> CellView:
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
    table = run.table(m, int(run.steps[i]), seed)
    return CellView(name, int(run.steps[i]), float(run.epochs[i]), table, examples, rates(table))


def render_cells(images, view: CellView, labels: Sequence[str] | None = None):
    """Draw a :class:`CellView`: a 2x2 grid of panels, rows D wrong / right, columns M wrong / right."""
    import matplotlib.pyplot as plt

    from .plots import _to_hwc

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
            sf.suptitle(f"T{key} = {int(view.table[d, mm])}: {CELL_NAMES[key]}\n"
                        f"(D {'right' if d else 'wrong'}, M {'right' if mm else 'wrong'})", fontsize=8)
            axes = sf.subplots(nrows, ncols, squeeze=False)
            for k, ax in enumerate(axes.flat):
                ax.axis("off")
                if k < len(idx):
                    ax.imshow(_to_hwc(images[int(idx[k])]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
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
    A thin ipywidgets wrapper around :func:`cell_view` and :func:`render_cells`.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not runs:
        raise ValueError("runs is empty: give at least one tracked run, e.g. {'MLP': run}")
    names = list(runs)
    d_box = W.Dropdown(options=names, value=names[0], description="D")
    m_box = W.Dropdown(options=sorted(runs[names[0]].m_correct), description="M")
    step_box = W.SelectionSlider(options=[int(s) for s in runs[names[0]].steps], description="step",
                                 continuous_update=False, layout=W.Layout(width="420px"))
    step_box.value = step_box.options[-1]
    out = W.Output()

    def draw(*_):
        run = runs[d_box.value]
        view = cell_view(run, m_box.value, step_box.value, per_cell=per_cell)
        box.view = view  # what is on screen, for tests and for reading numbers off
        with out:
            out.clear_output(wait=True)
            fig = render_cells(images, view, labels)
            display(fig)
            plt.close(fig)

    def new_run(*_):
        run = runs[d_box.value]
        m_box.options = sorted(run.m_correct)
        steps = [int(s) for s in run.steps]
        step_box.options = steps
        step_box.value = steps[-1]
        draw()

    box = W.VBox([W.HBox([d_box, m_box]), step_box, out])
    d_box.observe(new_run, names="value")
    m_box.observe(draw, names="value")
    step_box.observe(draw, names="value")
    draw()
    return box


# ----------------------------------------------------------------------------------------------
# shallow-learnability as a graded score


def easiness_table(run: ContingencyRun, m, seed: int = 0) -> pd.DataFrame:
    """Per test example: M's margin for the true class, whether M is right, and the step from which
    D stays right (``learned_step``); for comparing shallow-learnability with L2's difficulty scores."""
    name, mc = run._m(m)
    cl = run.classical.get(name) if isinstance(m, str) else (m if isinstance(m, Classical) else None)
    frame = pd.DataFrame({"m_correct": mc, "learned_step": run.learned_step(seed)})
    if cl is not None:
        frame.insert(0, "m_margin", cl.margin)
    return frame


__all__ = ["CELLS", "CELL_NAMES", "Classical", "ContingencyRun", "ContingencyTracker", "Curves", "CellView",
           "Rates", "alternative_shapes", "cell_view", "constant_guess_ratios", "contingency_table", "contingency_widget", "easiness_table",
           "fit_classical", "forest_early_stopping", "plot_rates", "plot_ratio", "rates", "render_cells",
           "real_splits", "shift_digits", "shifted_digits", "show_cells", "table_from_predictions", "track", "tracking_schedule"]
