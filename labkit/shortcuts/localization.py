"""Where does the shortcut live? Counterfactual training block by block (Tsoy & Konstantinov,
arXiv 2510.26560; L1 §3-§4).

One initialisation and one batch order are shared by every run; in each run every named block of
a :class:`~labkit.models.BlockNet` learns either from the clean batch or from the same batch with
the shortcut injected (the *skewed* batch). All runs of a seed train at once in labkit's one loop:
its gradient routing gives each block of each run the gradient of its own source.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .. import runtime
from ..data.core import Data
from ..models import BlockNet
from ..results import Result
from ..training import (
    History,
    ModuleMembers,
    PlanBatches,
    batch_plan,
    build_members,
    evaluate,
    resolve_device,
    to_device_input,
    train_members,
)
from ..training.optim import base_lr
from ..validation import check_fraction, check_option

SOURCES = ("clean", "skewed")


def _check_assignment(model: BlockNet, sources) -> dict:
    names = model.block_names
    if isinstance(sources, str):
        check_option(sources, "source", SOURCES)
        return {b: sources for b in names}
    if not isinstance(sources, Mapping):
        raise TypeError(f"sources must be 'clean', 'skewed' or a dict block -> source, got {type(sources).__name__}")
    unknown = set(sources) - set(names)
    if unknown:
        raise ValueError(f"unknown block(s) {sorted(unknown)}; this model's blocks are {names}")
    missing = [b for b in names if b not in sources]
    if missing:
        raise ValueError(f"sources gives no source for block(s) {missing}; give one of {SOURCES} for each of {names}")
    for b, s in sources.items():
        check_option(s, f"source for block {b!r}", SOURCES)
    return {b: sources[b] for b in names}


def _check_paired(clean: Data, skewed: Data) -> None:
    if not isinstance(clean, Data) or not isinstance(skewed, Data):
        raise TypeError("clean and skewed must be labkit Data (see paired_shortcut_data)")
    if len(clean) != len(skewed) or clean.X.shape != skewed.X.shape:
        raise ValueError(f"clean {tuple(clean.X.shape)} and skewed {tuple(skewed.X.shape)} must hold the same "
                         "examples with the same shape; build both from one dataset with paired_shortcut_data")
    if not torch.equal(clean.y.cpu(), skewed.y.cpu()):
        raise ValueError("clean and skewed have different labels; the skew must be in the inputs only, "
                         "with the examples in the same order")


def _check_lr_scale(model: BlockNet, lr_scale) -> dict:
    lr_scale = dict(lr_scale or {})
    unknown = set(lr_scale) - set(model.block_names)
    if unknown:
        raise ValueError(f"lr_scale names unknown block(s) {sorted(unknown)}; blocks are {model.block_names}")
    for b, s in lr_scale.items():
        check_fraction(s, f"lr_scale[{b!r}]", 0.0, 1e6)
    if all(float(lr_scale.get(b, 1.0)) == 0.0 for b in model.block_names):
        raise ValueError("every block is frozen (lr_scale 0); nothing would be trained")
    return {b: float(lr_scale.get(b, 1.0)) for b in model.block_names}


def _routing(model: BlockNet, runs: list) -> tuple[dict, dict]:
    """Per-member routing for runs [(sources, lr_scale), ...]: block prefix -> [R] source index
    (0 clean, 1 skewed) and block prefix -> [R] update scale."""
    route, scales = {}, {}
    for name in model.block_names:
        route[f"blocks.{name}"] = torch.tensor([SOURCES.index(src[name]) for src, _ in runs])
        factors = torch.tensor([sc[name] for _, sc in runs], dtype=torch.float32)
        if not torch.all(factors == 1.0):
            scales[f"blocks.{name}"] = factors
    return route, scales


def _train_members(members, clean: Data, skewed: Data, runs: list, plan, optimizer: str, lr, single: bool):
    device = members.device
    inputs = {s: to_device_input(d.X, device) for s, d in zip(SOURCES, (clean, skewed))}
    route, scales = _routing(members.template, runs)
    used = torch.unique(torch.cat(list(route.values())))
    if len(used) == 1:  # every block of every run learns from one source: plain training on it
        inputs, route = {"x": inputs[SOURCES[int(used[0])]]}, None
    return train_members(members, inputs, clean.y.to(device), PlanBatches(plan, len(members), device=device),
                         optimizer=optimizer, lr=base_lr(optimizer, lr), route=route,
                         update_scale=scales, eval_every=0, single=single)


def train_blockwise(model: BlockNet, clean: Data, skewed: Data, sources="skewed", *, epochs: int = 10,
                    batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                    lr_scale: Mapping | None = None, plan: list | None = None, seed: int = 0,
                    device=None) -> History:
    """Train ``model`` in place; block b learns from ``sources[b]`` ("clean" or "skewed") batches.

    Every step takes one batch of indices (from ``plan``, default :func:`batch_plan`), computes the
    loss on the clean version of the batch and on the skewed version, and gives each block the
    gradient of the loss of its own source. With ``sources="skewed"`` (or ``"clean"``) this is
    ordinary training on one dataset. Batch-norm running statistics of a block follow its source.

    ``lr_scale`` multiplies the learning rate of named blocks (0 freezes a block): the layer-wise
    mitigation of the lecture.

    Returns
    -------
    History : the training history (:class:`labkit.training.History`), as :func:`labkit.fit` gives it
    """
    if not isinstance(model, BlockNet):
        raise TypeError(f"train_blockwise needs a labkit BlockNet with named blocks, got {type(model).__name__}")
    sources = _check_assignment(model, sources)
    _check_paired(clean, skewed)
    scale = _check_lr_scale(model, lr_scale)
    base_lr(optimizer, lr)
    members = ModuleMembers(model).to(resolve_device(device))
    plan = plan if plan is not None else batch_plan(len(clean), batch_size, epochs, seed)
    return _train_members(members, clean, skewed, [(sources, scale)], plan, optimizer, lr, single=True)


def _train_runs(build, clean, skewed, runs: dict, *, seed: int, epochs: int, batch_size: int, optimizer: str,
                lr, device) -> dict:
    """Train every run in ``runs`` (name -> (sources, lr_scale)) from one initialisation and one
    batch plan, both fixed by ``seed``, all at once (one member per run); returns name -> model."""
    runtime.seed_everything(seed)
    model = build()
    if not isinstance(model, BlockNet):
        raise TypeError(f"build() must return a labkit BlockNet with named blocks, got {type(model).__name__}")
    _check_paired(clean, skewed)
    checked = [(_check_assignment(model, src), _check_lr_scale(model, sc)) for src, sc in runs.values()]
    members = build_members(build, [seed] * len(runs), resolve_device(device))
    plan = batch_plan(len(clean), batch_size, epochs, seed)
    _train_members(members, clean, skewed, checked, plan, optimizer, lr, single=False)
    return dict(zip(runs, members.models))


def attribution_table(acc_clean: float, acc_skewed: float, only_skewed: Mapping, only_clean: Mapping) -> pd.DataFrame:
    """The per-block localization table from measured clean-test accuracies.

    Parameters
    ----------
    acc_clean : every block trained on clean batches
    acc_skewed : every block trained on skewed batches (the ordinary shortcut-learning run)
    only_skewed : block -> accuracy when only that block saw skewed batches (the rest clean)
    only_clean : block -> accuracy when only that block saw clean batches (the rest skewed)

    Columns (accuracy points, positive = harm done by the skew):
    ``spurious_encoding`` = acc_clean - only_skewed[b]: what block b alone does when it learns from
    the skewed data; ``core_forgetting`` = only_clean[b] - acc_skewed: what block b alone gets back
    when it keeps learning from clean data; ``attribution`` = their mean. The row ``interaction``
    holds, per column, what the blocks do only together (total drop minus the column's sum), so
    every column sums to the ``total drop`` row, acc_clean - acc_skewed.
    """
    blocks = list(only_skewed)
    if not blocks:
        raise ValueError("only_skewed is empty; give one accuracy per block")
    if set(only_clean) != set(blocks):
        raise ValueError(f"only_skewed and only_clean must name the same blocks, got {sorted(only_skewed)} "
                         f"and {sorted(only_clean)}")
    for name, value in [("acc_clean", acc_clean), ("acc_skewed", acc_skewed),
                        *[(f"only_skewed[{b!r}]", v) for b, v in only_skewed.items()],
                        *[(f"only_clean[{b!r}]", v) for b, v in only_clean.items()]]:
        check_fraction(value, name)
    total = float(acc_clean) - float(acc_skewed)
    enc = {b: float(acc_clean) - float(only_skewed[b]) for b in blocks}
    forg = {b: float(only_clean[b]) - float(acc_skewed) for b in blocks}
    rows = [{"block": b, "spurious_encoding": enc[b], "core_forgetting": forg[b],
             "attribution": (enc[b] + forg[b]) / 2} for b in blocks]
    inter_e, inter_f = total - sum(enc.values()), total - sum(forg.values())
    rows.append({"block": "interaction", "spurious_encoding": inter_e, "core_forgetting": inter_f,
                 "attribution": (inter_e + inter_f) / 2})
    rows.append({"block": "total drop", "spurious_encoding": total, "core_forgetting": total, "attribution": total})
    return pd.DataFrame(rows).set_index("block")


@dataclass
class Localization(Result):
    """Result of :func:`localize_shortcut`.

    Attributes
    ----------
    blocks : list of str, the model's blocks from the input to the head
    accuracies : dict run -> float, each run ("all clean", "all skewed", "only <b> skewed",
        "only <b> clean") to its clean-test accuracy averaged over seeds
    per_seed : list of such dicts, one per seed
    attribution : DataFrame, :func:`attribution_table` of the averages (what ``table()`` gives)
    seconds : float, wall time of the whole localization
    iid_skewed : float, the i.i.d. (skewed test) accuracy of the all-skewed run (NaN without iid_test)
    """

    blocks: list[str]
    accuracies: dict[str, float]
    per_seed: list[dict[str, float]]
    attribution: pd.DataFrame
    seconds: float
    iid_skewed: float = float("nan")

    def table(self) -> pd.DataFrame:
        """The per-block attribution (a copy of ``attribution``): one row per block, then
        ``interaction`` and ``total drop`` (index ``block``), with the columns
        ``spurious_encoding``, ``core_forgetting`` and ``attribution`` in clean-test accuracy
        points (see :func:`attribution_table`)."""
        return self.attribution.copy()

    @property
    def total_drop(self) -> float:
        return self.accuracies["all clean"] - self.accuracies["all skewed"]

    def shares(self) -> pd.DataFrame:
        """The table's encoding and forgetting columns as shares of the total drop, one row per
        block and one for the interaction (L1 §4 reads them: "one block alone does little")."""
        cols = ["spurious_encoding", "core_forgetting"]
        return self.attribution.loc[[*self.blocks, "interaction"], cols] / self.total_drop

    def pattern(self) -> dict[str, str | float | bool]:
        """Where spurious encoding and core forgetting sit, by depth (blocks numbered 0 .. L-1 from
        the input).

        Returns the block where each column peaks, each column's centre (the depth weighted by the
        column's positive parts), and ``shallow_encodes_deep_forgets``: True only when encoding
        peaks in a strictly shallower block than forgetting *and* its centre is shallower.
        """
        t = self.attribution.loc[self.blocks]
        depth = np.arange(len(self.blocks), dtype=float)
        out = {}
        for col, short in (("spurious_encoding", "encoding"), ("core_forgetting", "forgetting")):
            w = np.clip(t[col].to_numpy(), 0, None)
            out[f"{short}_peak"] = str(t[col].idxmax())
            out[f"{short}_centre"] = float((w * depth).sum() / w.sum()) if w.sum() > 0 else float("nan")
        pe, pf = self.blocks.index(out["encoding_peak"]), self.blocks.index(out["forgetting_peak"])
        ce, cf = out["encoding_centre"], out["forgetting_centre"]
        out["shallow_encodes_deep_forgets"] = bool(pe < pf and np.isfinite(ce) and np.isfinite(cf) and ce < cf)
        return out


def counterfactual_runs(blocks: Sequence[str]) -> dict[str, dict[str, str]]:
    """The runs of the design: name -> block -> source (2 + 2 x number of blocks runs)."""
    blocks = list(blocks)
    runs = {"all clean": {b: "clean" for b in blocks}, "all skewed": {b: "skewed" for b in blocks}}
    for b in blocks:
        runs[f"only {b} skewed"] = {c: "skewed" if c == b else "clean" for c in blocks}
        runs[f"only {b} clean"] = {c: "clean" if c == b else "skewed" for c in blocks}
    return runs


def localize_shortcut(build: Callable[[], BlockNet], clean: Data, skewed: Data, test: Data, *,
                      epochs: int = 10, batch_size: int = 64, optimizer: str = "adam",
                      lr: float | None = None, seeds: Sequence[int] = (0,), iid_test: Data | None = None,
                      device=None) -> Localization:
    """Counterfactual per-block training: which blocks encode the cue, which forget the core feature.

    For each seed: seed, ``build()`` the model once, keep its initial weights and fix one batch plan;
    then train every run of :func:`counterfactual_runs` from those weights with that plan (see
    :func:`train_blockwise`) and measure accuracy on ``test``, a clean test set (typically the cue
    shuffled, so it carries no label information). Works for any labkit BlockNet (MLP, SmallCNN,
    VGG, ResNet).

    Returns
    -------
    Localization
        The runs' clean-test accuracies (seed mean and per seed) and their per-block attribution;
        its ``table()`` has one row per block, then ``interaction`` and ``total drop``, with the
        columns ``spurious_encoding``, ``core_forgetting`` and ``attribution``.
    """
    _check_paired(clean, skewed)
    if not isinstance(test, Data):
        raise TypeError(f"test must be a labkit Data, got {type(test).__name__}")
    if len(seeds) == 0:
        raise ValueError("seeds is empty; give at least one seed")
    start = time.perf_counter()
    per_seed, iid, blocks = [], [], None
    for seed in seeds:
        runtime.seed_everything(seed)
        blocks = build().block_names
        runs = {name: (sources, None) for name, sources in counterfactual_runs(blocks).items()}
        nets = _train_runs(build, clean, skewed, runs, seed=seed, epochs=epochs, batch_size=batch_size,
                           optimizer=optimizer, lr=lr, device=device)
        per_seed.append({name: evaluate(net, test).accuracy for name, net in nets.items()})
        if iid_test is not None:
            iid.append(evaluate(nets["all skewed"], iid_test).accuracy)
    mean = {k: float(np.mean([a[k] for a in per_seed])) for k in per_seed[0]}
    table = attribution_table(mean["all clean"], mean["all skewed"],
                              {b: mean[f"only {b} skewed"] for b in blocks},
                              {b: mean[f"only {b} clean"] for b in blocks})
    return Localization(blocks, mean, per_seed, table, time.perf_counter() - start,
                        float(np.mean(iid)) if iid else float("nan"))
