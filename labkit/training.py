"""A fast trainer in the spirit of airbench: data on the device, a permutation per epoch, no
DataLoader; callbacks after every step; several seeds at once with torch.func; per-example
gradient norms with torch.func.

    >>> import labkit as lk
    >>> train, val, test = lk.data.train_val_test_split(lk.data.load_digits())
    >>> model = lk.models.make_model("mlp", train)
    >>> history = lk.fit(model, train, val, epochs=5, progress=False)
    >>> lk.evaluate(model, test).accuracy > 0.9
    True
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap
from tqdm.auto import tqdm

from . import runtime
from .data.core import Data
from .validation import check_features, check_fraction, check_labels, check_option, check_positive_int

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "linear", "onecycle", "step")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}


# ----------------------------------------------------------------------------------------------
# inputs


def as_data(data, name: str = "data") -> Data:
    """Accept a labkit Data or an ``(X, y)`` pair."""
    if isinstance(data, Data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return Data(data[0], data[1], name=name)
    raise TypeError(f"{name} must be a labkit Data or an (X, y) pair, got {type(data).__name__}")


def _n_outputs(model: nn.Module, x: torch.Tensor) -> int:
    with torch.inference_mode():
        was = model.training
        model.eval()
        out = model(x[:1])
        model.train(was)
    if out.dim() != 2:
        raise ValueError(f"the model must return logits of shape [N, n_classes], got {tuple(out.shape)}")
    return out.shape[1]


def _prepare(model: nn.Module, data: Data, device: torch.device, name: str) -> Data:
    data = as_data(data, name).to(device)
    try:
        k = _n_outputs(model, data.X)
    except RuntimeError as err:
        raise ValueError(f"the model cannot take {name}.X of shape {tuple(data.X.shape)}: {err}. "
                         "Build the model for this data, e.g. lk.models.make_model('mlp', data)") from None
    check_labels(data.y, n_classes=k, name=f"{name}.y")
    if device.type == "cuda" and data.X.dim() == 4:
        data.X = data.X.contiguous(memory_format=torch.channels_last)
    return data


def _loss_fn(loss, label_smoothing: float) -> Callable:
    if callable(loss):
        return loss
    check_option(loss, "loss", ("ce",))
    return lambda logits, y: F.cross_entropy(logits, y, label_smoothing=label_smoothing)


def _lr_lambda(schedule: str, total: int, warmup: int) -> Callable[[int], float]:
    check_option(schedule, "schedule", SCHEDULES)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, total - warmup)
        if schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
        if schedule == "linear":
            return max(0.0, 1.0 - t)
        if schedule == "onecycle":  # linear up over the first 25 %, then linear down to zero
            u = step / max(1, total)
            return u / 0.25 if u < 0.25 else max(0.0, (1 - u) / 0.75)
        if schedule == "step":
            return 0.1 ** ((t >= 0.5) + (t >= 0.75))
        return 1.0

    return factor


def _scheduler(opt, schedule: str, total: int, warmup: int):
    """A per-step LambdaLR, or None for a constant rate without warm-up (nothing to update)."""
    factor = _lr_lambda(schedule, total, warmup)
    if schedule == "constant" and not warmup:
        return None
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def make_optimizer(params, name: str = "adam", lr: float | None = None, weight_decay: float = 0.0,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """``sgd`` (Nesterov momentum) | ``adam`` | ``adamw`` with labkit's default learning rates."""
    check_option(name, "optimizer", OPTIMIZERS)
    lr = DEFAULT_LR[name] if lr is None else check_fraction(lr, "lr", 0.0, 100.0, inclusive_low=False)
    params = list(params)
    if name == "sgd":
        cls, kw = torch.optim.SGD, dict(momentum=momentum, nesterov=momentum > 0)
    else:
        cls, kw = (torch.optim.Adam if name == "adam" else torch.optim.AdamW), {}
    # The fused kernels update all parameters in one pass; fall back where a device lacks them.
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=fused, **kw)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, lr=lr, weight_decay=weight_decay, **kw)


def _progress_default() -> bool:
    return os.environ.get("LABKIT_PROGRESS", "1") != "0" and not os.environ.get("NBGRADER_EXECUTION")


# ----------------------------------------------------------------------------------------------
# results


@dataclass
class StepState:
    """What a callback sees after every optimizer step.

    ``index`` holds the training-set indices of the batch ([B], or [S, B] for :func:`fit_many`),
    ``logits`` the batch's logits computed in that step (detached), ``loss`` the batch loss
    (a tensor; ``float(state.loss)`` synchronises with the device). Set ``stop = True`` to end
    training after this step.
    """

    step: int
    epoch: float
    steps_per_epoch: int
    total_steps: int
    loss: torch.Tensor
    index: torch.Tensor
    logits: torch.Tensor
    targets: torch.Tensor
    model: object
    stop: bool = False


@dataclass
class History:
    """Per-step loss and learning rate, per-epoch evaluations, and wall time.

    ``loss`` has shape [steps] (or [steps, seeds] for :func:`fit_many`); ``evals`` is a list of
    dicts with ``epoch``, ``step`` and ``val_loss``/``val_acc`` when a validation set was given.
    """

    loss: np.ndarray
    lr: np.ndarray
    steps_per_epoch: int
    evals: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.loss)

    @property
    def epochs(self) -> np.ndarray:
        return np.arange(1, self.steps + 1) / self.steps_per_epoch

    def to_frame(self) -> pd.DataFrame:
        """One row per step: step, epoch, lr and loss (mean over seeds for fit_many)."""
        loss = self.loss.mean(1) if self.loss.ndim == 2 else self.loss
        return pd.DataFrame({"step": np.arange(1, self.steps + 1), "epoch": self.epochs,
                             "lr": self.lr, "loss": loss})

    def evals_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.evals)


@dataclass
class Evaluation:
    """Results of :func:`evaluate` on N examples: accuracy and mean loss, and per example
    ``logits`` [N, K], ``probs`` [N, K], ``preds`` [N], ``losses`` [N] and ``correct`` [N] (CPU)."""

    accuracy: float
    loss: float
    logits: torch.Tensor
    probs: torch.Tensor
    preds: torch.Tensor
    losses: torch.Tensor
    correct: torch.Tensor

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f}, n={len(self.preds)})"


# ----------------------------------------------------------------------------------------------
# evaluation


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.inference_mode()
def predict_logits(model: nn.Module, X, batch_size: int = 4096) -> torch.Tensor:
    """Logits [N, K] in float32 on the model's device, computed in large batches in eval mode."""
    device = _model_device(model)
    X = check_features(X.X if isinstance(X, Data) else X).to(device)
    check_positive_int(batch_size, "batch_size")
    was = model.training
    model.eval()
    try:
        with runtime.autocast(device):
            out = [model(X[i:i + batch_size]).float() for i in range(0, len(X), batch_size)]
    finally:
        model.train(was)
    return torch.cat(out)


def predict_proba(model: nn.Module, X, batch_size: int = 4096) -> torch.Tensor:
    """Softmax probabilities [N, K] (CPU)."""
    return predict_logits(model, X, batch_size).softmax(1).cpu()


def evaluate(model: nn.Module, data, batch_size: int = 4096) -> Evaluation:
    """Accuracy, loss, predictions, probabilities and per-example losses of ``model`` on ``data``."""
    data = as_data(data)
    logits = predict_logits(model, data.X, batch_size)
    y = check_labels(data.y, n=len(logits), n_classes=logits.shape[1]).to(logits.device)
    losses = F.cross_entropy(logits, y, reduction="none")
    preds = logits.argmax(1)
    correct = preds == y
    return Evaluation(accuracy=correct.float().mean().item(), loss=losses.mean().item(),
                      logits=logits.cpu(), probs=logits.softmax(1).cpu(), preds=preds.cpu(),
                      losses=losses.cpu(), correct=correct.cpu())


# ----------------------------------------------------------------------------------------------
# training one model


def _update(loss: torch.Tensor, opt, scaler, sched) -> float:
    """One optimizer step on ``loss``; returns the learning rate it used."""
    opt.zero_grad(set_to_none=True)
    if scaler.is_enabled():  # fp16 needs loss scaling; bf16 and fp32 do not
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        opt.step()
    lr = opt.param_groups[0]["lr"]
    if sched is not None:
        sched.step()
    return lr


def _val_metrics(model: nn.Module, val: Data) -> dict:
    ev = evaluate(model, val)
    return {"val_loss": ev.loss, "val_acc": ev.accuracy}


def _val_metrics_many(ens: "Ensemble", val: Data) -> dict:
    accs = [e.accuracy for e in ens.evaluate(val)]
    return {"val_acc": float(np.mean(accs)), "val_acc_per_seed": accs}


def _after_step(state: "StepState", callbacks, val, eval_every: int, metrics: Callable[[], dict],
                evals: list, bar) -> bool:
    """Run the callbacks, then evaluate at epoch ends (and at the last step); True means stop."""
    for cb in callbacks:
        cb(state)
    step, per_epoch = state.step, state.steps_per_epoch
    due = step % (per_epoch * eval_every) == 0 if eval_every else False
    if val is not None and eval_every and (due or step == state.total_steps or state.stop):
        evals.append({"epoch": step / per_epoch, "step": step, **metrics()})
        bar.set_postfix(val_acc=f"{evals[-1]['val_acc']:.3f}")
    if callbacks or val is not None:
        state.model.train()
    return state.stop


def _steps_plan(n: int, batch_size: int, epochs, steps, drop_last: bool):
    check_positive_int(batch_size, "batch_size")
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs or steps")
    per_epoch = n // batch_size if drop_last and n >= batch_size else math.ceil(n / batch_size)
    total = check_positive_int(steps, "steps") if steps is not None else \
        per_epoch * check_positive_int(epochs, "epochs")
    return per_epoch, total


def _batches(n: int, batch_size: int, per_epoch: int, total: int, generator, device):
    """Yield index tensors: a fresh permutation each epoch, sliced into batches."""
    step = 0
    while step < total:
        perm = torch.randperm(n, generator=generator).to(device)
        for b in range(per_epoch):
            if step == total:
                return
            yield perm[b * batch_size:(b + 1) * batch_size]
            step += 1


def fit(model: nn.Module, train, val=None, *, epochs: int | None = None, steps: int | None = None,
        batch_size: int = 128, optimizer: str = "adam", lr: float | None = None,
        weight_decay: float = 0.0, momentum: float = 0.9, schedule: str = "constant", warmup: int = 0,
        loss="ce", label_smoothing: float = 0.0, callbacks: Sequence[Callable] = (),
        eval_every: int = 1, seed: int | None = None, device=None, amp: bool = True,
        drop_last: bool = False, progress: bool | None = None) -> History:
    """Train ``model`` in place on ``train`` and return its :class:`History`.

    Parameters
    ----------
    model : nn.Module returning logits [N, K]; moved to ``device`` (default :func:`runtime.get_device`)
    train, val : labkit Data or (X, y); kept whole on the device
    epochs, steps : how long to train (exactly one of them)
    batch_size : examples per step (default 128)
    optimizer : "sgd" (Nesterov momentum) | "adam" (default) | "adamw"; ``lr`` defaults to 0.05 / 1e-3
    schedule : "constant" | "cosine" | "linear" | "onecycle" | "step", applied per step; ``warmup`` steps
    loss : "ce" (cross-entropy, with ``label_smoothing``) or a callable(logits, targets) -> scalar
    callbacks : callables receiving a :class:`StepState` after every step
    eval_every : evaluate on ``val`` every this many epochs (0: never)
    seed : seeds the initialisation-independent randomness (batch order); None uses the current seed
    amp : mixed precision on CUDA (bf16, or fp16 with a gradient scaler)
    """
    device = torch.device(device) if device is not None else runtime.get_device()
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    train = _prepare(model, train, device, "train")
    val = _prepare(model, val, device, "val") if val is not None else None
    per_epoch, total = _steps_plan(len(train), batch_size, epochs, steps, drop_last)
    check_positive_int(eval_every, "eval_every", 0)
    check_fraction(label_smoothing, "label_smoothing", 0.0, 1.0, inclusive_high=False)
    criterion = _loss_fn(loss, label_smoothing)
    opt = make_optimizer(model.parameters(), optimizer, lr, weight_decay, momentum)
    sched = _scheduler(opt, schedule, total, warmup)
    dtype = runtime.amp_dtype(device) if amp else None
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    generator = torch.Generator().manual_seed(runtime.current_seed() if seed is None else seed)
    losses = torch.empty(total, device=device)
    lrs = np.empty(total)
    evals = []
    bar = tqdm(total=total, desc="training", leave=False, mininterval=0.5,
               disable=not (_progress_default() if progress is None else progress))
    start = time.perf_counter()
    model.train()
    step = 0
    for step, idx in enumerate(_batches(len(train), batch_size, per_epoch, total, generator, device), 1):
        xb, yb = train.X[idx], train.y[idx]
        with runtime.autocast(device, enabled=amp):
            logits = model(xb)
            batch_loss = criterion(logits.float(), yb)
        lrs[step - 1] = _update(batch_loss, opt, scaler, sched)
        losses[step - 1] = batch_loss.detach()
        bar.update()
        state = StepState(step, step / per_epoch, per_epoch, total, batch_loss.detach(), idx,
                          logits.detach().float(), yb, model)
        if _after_step(state, callbacks, val, eval_every, lambda: _val_metrics(model, val), evals, bar):
            break
    bar.close()
    model.eval()
    return History(loss=losses[:step].cpu().numpy(), lr=lrs[:step], steps_per_epoch=per_epoch, evals=evals,
                   seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# several seeds at once


def _has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


class Ensemble:
    """Several copies of one architecture whose parameters are stacked along a leading seed axis,
    so one vmapped forward pass evaluates them all.

    ``models`` gives ordinary nn.Modules (copies of the current parameters); ``predict_logits(X)``
    returns [S, N, K].
    """

    def __init__(self, models: Sequence[nn.Module]):
        if not models:
            raise ValueError("an Ensemble needs at least one model")
        self.seeds = None
        self._template = copy.deepcopy(models[0]).to("meta")
        params, buffers = stack_module_state(list(models))
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        self.buffers = buffers
        self._n = len(models)

    def __len__(self) -> int:
        return self._n

    def _call(self, params, buffers, x):
        return functional_call(self._template, (params, buffers), (x,))

    def forward(self, x: torch.Tensor, per_model_inputs: bool = False) -> torch.Tensor:
        """Logits [S, B, K]; x is [B, ...] shared by all models, or [S, B, ...] if per_model_inputs."""
        return vmap(self._call, in_dims=(0, 0, 0 if per_model_inputs else None), randomness="different")(
            self.params, self.buffers, x)

    def train(self, mode: bool = True) -> "Ensemble":
        self._template.train(mode)
        return self

    def eval(self) -> "Ensemble":
        return self.train(False)

    @torch.inference_mode()
    def predict_logits(self, X, batch_size: int = 4096) -> torch.Tensor:
        """Logits [S, N, K] of every model on X, in eval mode, in large batches."""
        device = next(iter(self.params.values())).device
        X = check_features(X.X if isinstance(X, Data) else X).to(device)
        was = self._template.training
        self.eval()
        try:
            with runtime.autocast(device):
                out = [self.forward(X[i:i + batch_size]).float() for i in range(0, len(X), batch_size)]
        finally:
            self.train(was)
        return torch.cat(out, dim=1)

    def evaluate(self, data) -> list:
        """One :class:`Evaluation` per model."""
        data = as_data(data)
        logits = self.predict_logits(data.X)
        y = data.y.to(logits.device)
        out = []
        for lg in logits:
            losses = F.cross_entropy(lg, y, reduction="none")
            correct = lg.argmax(1) == y
            out.append(Evaluation(correct.float().mean().item(), losses.mean().item(), lg.cpu(),
                                  lg.softmax(1).cpu(), lg.argmax(1).cpu(), losses.cpu(), correct.cpu()))
        return out

    @property
    def models(self) -> list:
        """The members as independent nn.Modules (on the ensemble's device)."""
        out = []
        for s in range(self._n):
            m = copy.deepcopy(self._template)
            state = {k: v[s].detach().clone() for k, v in {**self.params, **self.buffers}.items()}
            m.load_state_dict(state, assign=True)
            out.append(m.eval())
        return out


def fit_many(build: Callable[[], nn.Module], train, val=None, *, seeds: Sequence[int] = (0, 1, 2, 3),
             epochs: int | None = None, steps: int | None = None, batch_size: int = 128,
             optimizer: str = "adam", lr: float | None = None, weight_decay: float = 0.0,
             momentum: float = 0.9, schedule: str = "constant", warmup: int = 0, loss="ce",
             label_smoothing: float = 0.0, callbacks: Sequence[Callable] = (), eval_every: int = 1,
             device=None, amp: bool = True, drop_last: bool = False,
             progress: bool | None = None) -> tuple[Ensemble, History]:
    """Train one model per seed, all at once, with ``torch.func.vmap`` over stacked parameters.

    ``build()`` is called after seeding with each seed in turn, so seed s gets the initialisation
    and the batch order that ``fit`` would give it. Each optimizer update is element-wise, so one
    optimizer over the stacked parameters updates every member exactly as if trained alone.
    Models with BatchNorm (whose running statistics cannot be updated under vmap) raise an error:
    build them with ``norm=None`` or ``"group"``, or train them one by one with :func:`fit`.

    Returns the :class:`Ensemble` and a :class:`History` whose ``loss`` is [steps, seeds]; the
    evals hold the mean and per-seed validation accuracy.
    """
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed")
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    device = torch.device(device) if device is not None else runtime.get_device()
    models = []
    for s in seeds:
        runtime.seed_everything(s)
        models.append(build().to(device))
    if _has_batchnorm(models[0]):
        raise ValueError("fit_many cannot vectorise models with BatchNorm; build them with norm=None or "
                         "norm='group', or train each seed with lk.fit")
    train = _prepare(models[0], train, device, "train")
    val = _prepare(models[0], val, device, "val") if val is not None else None
    per_epoch, total = _steps_plan(len(train), batch_size, epochs, steps, drop_last)
    check_fraction(label_smoothing, "label_smoothing", 0.0, 1.0, inclusive_high=False)
    criterion = _loss_fn(loss, label_smoothing)
    ens = Ensemble(models)
    ens.seeds = seeds
    S = len(seeds)
    opt = make_optimizer(list(ens.params.values()), optimizer, lr, weight_decay, momentum)
    sched = _scheduler(opt, schedule, total, warmup)
    dtype = runtime.amp_dtype(device) if amp else None
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    iters = [_batches(len(train), batch_size, per_epoch, total, g, device) for g in gens]
    losses = torch.empty(total, S, device=device)
    lrs = np.empty(total)
    evals = []
    bar = tqdm(total=total, desc=f"training {S} seeds", leave=False, mininterval=0.5,
               disable=not (_progress_default() if progress is None else progress))
    start = time.perf_counter()
    ens.train()
    step = 0
    for step in range(1, total + 1):
        idx = torch.stack([next(it) for it in iters])  # [S, B]
        xb, yb = train.X[idx], train.y[idx]
        with runtime.autocast(device, enabled=amp):
            logits = ens.forward(xb, per_model_inputs=True)  # [S, B, K]
            per_seed = F.cross_entropy(logits.float().flatten(0, 1), yb.flatten(), reduction="none",
                                       label_smoothing=label_smoothing).view(S, -1).mean(1) \
                if loss == "ce" else torch.stack([criterion(lg.float(), t) for lg, t in zip(logits, yb)])
        lrs[step - 1] = _update(per_seed.sum(), opt, scaler, sched)  # the sum keeps each seed's gradient its own
        losses[step - 1] = per_seed.detach()
        bar.update()
        state = StepState(step, step / per_epoch, per_epoch, total, per_seed.detach(), idx,
                          logits.detach().float(), yb, ens)
        if _after_step(state, callbacks, val, eval_every, lambda: _val_metrics_many(ens, val), evals, bar):
            break
    bar.close()
    ens.eval()
    return ens, History(loss=losses[:step].cpu().numpy(), lr=lrs[:step], steps_per_epoch=per_epoch,
                        evals=evals, seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# per-example gradients


def per_example_grad_norms(model, data, batch_size: int | None = None) -> torch.Tensor:
    """The L2 norm of each example's cross-entropy gradient w.r.t. all parameters, in eval mode
    (BatchNorm uses its running statistics). Returns [N] for an nn.Module and [S, N] for an
    :class:`Ensemble` of S models (all computed at once), on the CPU.

    Exact, and computed without a Python loop over examples:

    - for every ``nn.Linear`` applied once to a batch of vectors, the example's weight gradient is
      the outer product of its output gradient g and its input a, so its squared norm is
      ``|g|^2 |a|^2`` (plus ``|g|^2`` for the bias). One forward and one ``torch.func.grad`` pass
      over the batch give g and a for every example; the per-example weight gradients are never
      materialised.
    - every other parameter (convolutions, normalisation layers, ...) gets its per-example
      gradients from ``torch.func.vmap(grad(...))`` over examples.

    ``batch_size`` examples are processed at a time (default: as many as keep the per-example
    gradients of the non-linear layers near 16 M numbers on a CPU, 256 M on a GPU).
    """
    data = as_data(data)
    single = not isinstance(model, Ensemble)
    template, params, buffers = stacked_state(model)
    device = next(iter(params.values())).device
    X = check_features(data.X).to(device)
    y = check_labels(data.y, n=len(X)).to(device)
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    was = template.training
    template.eval()
    try:
        sq = _grad_sq_norms(template, params, buffers, X, y, batch_size)
    finally:
        template.train(was)
    out = sq.sqrt().cpu()
    return out[0] if single else out


def stacked_state(model) -> tuple[nn.Module, dict, dict]:
    """(a module to call with ``functional_call``, parameters [S, ...], buffers [S, ...]), detached,
    for an :class:`Ensemble` of S models or one nn.Module (S = 1)."""
    if isinstance(model, Ensemble):
        return (model._template, {k: v.detach() for k, v in model.params.items()},
                {k: v.detach() for k, v in model.buffers.items()})
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module or a labkit Ensemble, got {type(model).__name__}")
    return (model, {k: v.detach()[None] for k, v in model.named_parameters()},
            {k: v.detach()[None] for k, v in model.named_buffers()})


class _NotFactorable(Exception):
    """A linear layer used in a way the outer-product identity does not cover."""


def _factorable_linears(template: nn.Module, params: dict) -> dict:
    """The nn.Linear modules whose parameters are all in ``params``, by qualified name."""
    out = {}
    for name, m in template.named_modules():
        if isinstance(m, nn.Linear):
            own = [f"{name}.{k}" for k, _ in m.named_parameters(recurse=False)]
            if own and all(k in params for k in own):
                out[name] = m
    return out


def _linear_sq_norms(template, linears: dict, p, b, x, t) -> torch.Tensor:
    """Per-example squared gradient norm of the parameters of ``linears`` for one model: [n].

    A zero "probe" is added to each linear layer's output, so the gradient of the summed loss
    w.r.t. the probe is every example's output gradient g; the hook also records |a|^2 of the
    layer's input. Each example's loss depends only on its own row (eval mode), so the sum's
    gradient row i is example i's own gradient.
    """
    probes = {name: x.new_zeros(len(x), m.out_features) for name, m in linears.items()}

    def summed_loss(probes):
        in_sq = {}

        def hook(name):
            def add_probe(module, inputs, output):
                a = inputs[0]
                if name in in_sq or a.dim() != 2:  # called twice, or on sequences: not an outer product
                    raise _NotFactorable(name)
                in_sq[name] = a.float().pow(2).sum(1)
                return output + probes[name]
            return add_probe

        handles = [m.register_forward_hook(hook(name)) for name, m in linears.items()]
        try:
            out = functional_call(template, (p, b), (x,))
        finally:
            for h in handles:
                h.remove()
        return F.cross_entropy(out.float(), t, reduction="sum"), in_sq

    g, in_sq = grad(summed_loss, has_aux=True)(probes)
    sq = x.new_zeros(len(x))
    for name, m in linears.items():
        sq = sq + g[name].pow(2).sum(1) * (in_sq[name] + (1.0 if m.bias is not None else 0.0))
    return sq


def _grad_sq_norms(template, params, buffers, X, y, batch_size, use_identity: bool = True) -> torch.Tensor:
    """[S, N] squared per-example gradient norms for S stacked models (see per_example_grad_norms);
    ``use_identity=False`` takes every parameter through ``vmap(grad)``."""
    S = next(iter(params.values())).shape[0]
    linears = _factorable_linears(template, params) if use_identity else {}
    lin_names = {f"{n}.{k}" for n, m in linears.items() for k, _ in m.named_parameters(recurse=False)}
    lin_p = {k: v for k, v in params.items() if k in lin_names}
    other_p = {k: v for k, v in params.items() if k not in lin_names}

    def other_loss(po, pl, b, x, t):
        out = functional_call(template, ({**pl, **po}, b), (x.unsqueeze(0),))
        return F.cross_entropy(out.float(), t.unsqueeze(0))

    per_other = vmap(vmap(grad(other_loss), in_dims=(None, None, None, 0, 0)), in_dims=(0, 0, 0, None, None))
    per_linear = vmap(lambda p, b, x, t: _linear_sq_norms(template, linears, p, b, x, t),
                      in_dims=(0, 0, None, None))
    n_other = sum(v[0].numel() for v in other_p.values())
    budget = 2**28 if X.device.type == "cuda" else 2**24
    chunk = batch_size or max(1, min(4096, budget // max(1, S * n_other)))
    out = []
    for i in range(0, len(X), chunk):
        x, t = X[i:i + chunk], y[i:i + chunk]
        sq = torch.zeros(S, len(x), device=X.device)
        if linears:
            try:
                sq = sq + per_linear(params, buffers, x, t)
            except _NotFactorable:
                return _grad_sq_norms(template, params, buffers, X, y, batch_size, use_identity=False)
        if other_p:
            g = per_other(other_p, lin_p, buffers, x, t)
            sq = sq + sum(v.flatten(2).pow(2).sum(2) for v in g.values())
        out.append(sq)
    return torch.cat(out, dim=1)


# ----------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(path, model: nn.Module, history: History | None = None, **meta) -> Path:
    """Save the model's weights, its class name, the history and any extra ``meta``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "model_class": type(model).__name__,
                "history": None if history is None else history.__dict__, "meta": meta}, path)
    return path


def load_checkpoint(path, model: nn.Module) -> dict:
    """Load weights saved by :func:`save_checkpoint` into ``model``; returns the saved meta
    (with ``history`` as a :class:`History` when one was saved)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    saved = torch.load(path, map_location=_model_device(model), weights_only=False)
    if saved.get("model_class") != type(model).__name__:
        raise ValueError(f"{path} holds a {saved.get('model_class')} but the model is a {type(model).__name__}")
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path} does not fit this model (different sizes?): {err}") from None
    meta = dict(saved["meta"])
    if saved["history"] is not None:
        meta["history"] = History(**saved["history"])
    return meta
