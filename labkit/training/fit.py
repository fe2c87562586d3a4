"""The trainers students call. Each one builds members and a batch source, then runs the one loop
(:func:`labkit.training.loop.train_members`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .. import runtime
from ..data.core import Data
from ..validation import check_labels, check_positive_int
from .batches import EpochBatches, SubsetBatches
from .evaluation import as_data
from .loop import train_members
from .members import Ensemble, ModuleMembers, eval_mode, to_device_input
from .results import History


def resolve_device(device=None) -> torch.device:
    """``device`` as a torch.device, or labkit's default (:func:`labkit.runtime.get_device`)."""
    return torch.device(device) if device is not None else runtime.get_device()


def prepare_data(model: nn.Module, data, device: torch.device, name: str) -> Data:
    """``data`` on ``device``, checked against the model: it can take X and has a logit per label."""
    data = as_data(data, name).to(device)
    try:
        with torch.inference_mode(), eval_mode(model):
            out = model(data.X[:1])
    except RuntimeError as err:
        raise ValueError(f"the model cannot take {name}.X of shape {tuple(data.X.shape)}: {err}. "
                         "Build the model for this data, e.g. lk.models.make_model('mlp', data)") from None
    if out.dim() != 2:
        raise ValueError(f"the model must return logits of shape [N, n_classes], got {tuple(out.shape)}")
    check_labels(data.y, n_classes=out.shape[1], name=f"{name}.y")
    data.X = to_device_input(data.X, device)
    return data


def check_seeds(seeds) -> list:
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return seeds


def build_members(build: Callable[[], nn.Module], seeds: Sequence[int], device) -> Ensemble:
    """One model per seed, each built right after seeding with its seed, stacked as an Ensemble."""
    models = []
    for s in seeds:
        runtime.seed_everything(s)
        models.append(build().to(device))
    ens = Ensemble(models)
    ens.seeds = list(seeds)
    return ens


_LOOP_OPTIONS = ("optimizer", "lr", "weight_decay", "momentum", "schedule", "loss", "update_scale", "masks",
                 "callbacks", "eval_every", "amp", "desc")  # desc: what the progress bar says it is doing


def fit(model: nn.Module, train, val=None, *, epochs: int | None = None, steps: int | None = None,
        batch_size: int = 128, seed: int | None = None, device=None, drop_last: bool = False,
        progress: bool | None = None, **options) -> History:
    """Train ``model`` in place on ``train`` and return its :class:`History`.

    Parameters
    ----------
    model : nn.Module returning logits [N, K]; moved to ``device`` (default :func:`runtime.get_device`)
    train, val : labkit Data or (X, y); kept whole on the device
    epochs, steps : how long to train (exactly one of them)
    batch_size : examples per step (default 128)
    seed : seeds the batch order; None uses the current seed (:func:`labkit.seed_everything`)
    options : for the loop (:func:`labkit.training.loop.train_members`) —
        ``optimizer`` "sgd" (Nesterov momentum) | "adam" (default) | "adamw", ``lr`` (default
        0.05 / 1e-3), ``weight_decay``, ``momentum``; ``schedule`` "constant" | "cosine" |
        "linear" | "onecycle" | "step" per step; ``loss`` "ce" or a callable(logits, targets) ->
        per-example losses or a scalar; ``update_scale`` / ``masks`` per parameter;
        ``callbacks`` (a :class:`StepState` after every step); ``eval_every`` epochs (0: never);
        ``amp`` mixed precision on CUDA (bf16, or fp16 with a gradient scaler).
    """
    _check_options(options)
    device = resolve_device(device)
    members = ModuleMembers(model).to(device)
    train = prepare_data(model, train, device, "train")
    val = prepare_data(model, val, device, "val") if val is not None else None
    batches = EpochBatches(len(train), batch_size, [runtime.current_seed() if seed is None else seed],
                           epochs=epochs, steps=steps, drop_last=drop_last, device=device)
    return train_members(members, train.X, train.y, batches, val=val, progress=progress, single=True, **options)


def fit_many(build: Callable[[], nn.Module], train, val=None, *, seeds: Sequence[int] = (0, 1, 2, 3),
             epochs: int | None = None, steps: int | None = None, batch_size: int = 128, device=None,
             drop_last: bool = False, progress: bool | None = None, **options) -> tuple[Ensemble, History]:
    """Train one model per seed, all at once (``torch.func.vmap`` over stacked parameters).

    ``build()`` is called after seeding with each seed in turn, so seed s gets the initialisation
    and the batch order that :func:`fit` would give it. Each optimizer update is element-wise, so
    one optimizer over the stacked parameters updates every member exactly as if trained alone.
    Models with BatchNorm train in the same loop one member after another (running statistics
    cannot be updated under vmap). ``options`` as for :func:`fit`.

    Returns the :class:`Ensemble` and a :class:`History` whose ``loss`` is [steps, seeds]; the
    evals hold the mean and per-seed validation accuracy.
    """
    _check_options(options)
    seeds = check_seeds(seeds)
    device = resolve_device(device)
    ens = build_members(build, seeds, device)
    template = build().to(device)
    train = prepare_data(template, train, device, "train")
    val = prepare_data(template, val, device, "val") if val is not None else None
    batches = EpochBatches(len(train), batch_size, seeds, epochs=epochs, steps=steps, drop_last=drop_last,
                           device=device)
    history = train_members(ens, train.X, train.y, batches, val=val, progress=progress, **options)
    return ens, history


@dataclass
class SubsetRuns:
    """Models trained by :func:`fit_subsets`: member m was trained on ``subsets[members[m][0]]``
    with seed ``members[m][1]``. ``predict_logits(X)`` gives [M, N, K]."""

    ensemble: Ensemble
    members: list
    seconds: float

    def predict_logits(self, X) -> torch.Tensor:
        return self.ensemble.predict_logits(X)


def fit_subsets(build: Callable[[], nn.Module], train: Data, subsets: Sequence, *, seeds: Sequence[int] = (0,),
                steps: int = 300, batch_size: int = 128, device=None, progress: bool | None = None,
                paired: bool = False, **options) -> SubsetRuns:
    """Train one model per (subset, seed) pair, each on its own subset of ``train``, all at once.

    :func:`fit_many` trains several seeds on *one* training set; pruning experiments, cross-fitting
    and growing labelled pools need a different training set per model. Every member draws its
    batches from its own subset (a fresh permutation per pass over it, seeded by its seed), for the
    same number of ``steps`` whatever its subset's size; the batch size is capped by the smallest
    subset. ``options`` as for :func:`fit`.

    By default every subset is trained with every seed. ``paired=True`` trains ``subsets[i]``
    with ``seeds[i]`` only (one member per subset; seeds may repeat), as when several runs each
    grow their own labelled pool (L4's active learning).
    """
    if not isinstance(train, Data):
        raise TypeError(f"train must be a labkit Data, got {type(train).__name__}")
    if len(subsets) == 0:
        raise ValueError("subsets is empty; give at least one index array")
    _check_options(options)
    if paired:
        seeds = [int(s) for s in seeds]
        if len(seeds) != len(subsets):
            raise ValueError(f"paired=True needs one seed per subset: {len(subsets)} subsets, {len(seeds)} seeds")
        pairs = list(enumerate(seeds))
    else:
        seeds = check_seeds(seeds)
        pairs = [(i, s) for i in range(len(subsets)) for s in seeds]
    steps = check_positive_int(steps, "steps")
    device = resolve_device(device)
    batches = SubsetBatches([np.asarray(subsets[i]) for i, _ in pairs], [s for _, s in pairs], batch_size,
                            steps, n=len(train), device=device)
    ens = build_members(build, [s for _, s in pairs], device)
    data = prepare_data(build().to(device), train, device, "train")
    options.setdefault("eval_every", 0)
    history = train_members(ens, data.X, data.y, batches, progress=progress, **options)
    return SubsetRuns(ens, pairs, history.seconds)


def _check_options(options: dict) -> None:
    unknown = sorted(set(options) - set(_LOOP_OPTIONS))
    if unknown:
        raise TypeError(f"unknown training option(s) {unknown}; the options are {', '.join(_LOOP_OPTIONS)}")
