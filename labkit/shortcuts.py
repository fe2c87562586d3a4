"""Shortcut learning (lecture L1): stars and moons, injected cues, and where a shortcut lives.

Three experiments, each a plain function that returns plain results:

    >>> from labkit import shortcuts
    >>> r = shortcuts.stars_moons_experiment("fc", size=32, n_train=600, epochs=3)
    >>> r.train_acc, r.iid_acc, r.ood_acc        # location rule learned, shape ignored
    >>> sweep = shortcuts.shortcut_sweep(train, test, ps=[0, 0.5, 1])   # o.o.d. accuracy vs cue strength
    >>> loc = shortcuts.localize_shortcut(build, clean, skewed, test, epochs=10)
    >>> loc.table                                 # per-block spurious encoding and core forgetting

The localization follows the counterfactual design of Tsoy & Konstantinov (arXiv 2510.26560):
one initialisation and one batch order are shared by every run; in each run every named block of a
:class:`~labkit.models.BlockNet` is updated either from the clean batch or from the same batch with
the shortcut injected (the *skewed* batch). Comparing clean-test accuracies of these runs says
which blocks pick up the spurious cue and which ones lose the core feature.

The widget at the end (:func:`shortcut_demo`) is a thin ipywidgets wrapper around the pure
function :func:`demo_view`.
"""
from __future__ import annotations

import contextlib
import copy
import io
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import runtime
from .data.core import Data
from .data.embedded import make_stars_moons
from .data.transforms import SHORTCUT_KINDS, inject_shortcut, shortcut_ood
from .models import MLP, BlockNet, SmallCNN, make_model
from .training import DEFAULT_LR, evaluate, fit
from .validation import check_fraction, check_option, check_positive_int

SOURCES = ("clean", "skewed")
ARCHITECTURES = {"fc": "fully connected (3 layers)", "cnn": "CNN with global average pooling"}


# ----------------------------------------------------------------------------------------------
# 1. stars and moons


def stars_moons_model(arch: str, input_shape, hidden=(1024, 1024), width: int = 16, depth: int = 3) -> BlockNet:
    """The two contestants of the stars-and-moons task.

    ``"fc"``: a fully connected ReLU net ``input - hidden[0] - hidden[1] - 2`` (Geirhos et al. used
    40000-1024-1024-2). ``"cnn"``: a small CNN whose head averages over all positions (global
    average pooling), so where a shape sits matters far less to it.
    """
    check_option(arch, "architecture", tuple(ARCHITECTURES))
    if arch == "fc":
        return MLP(input_shape, 2, hidden=hidden)
    return SmallCNN(input_shape, 2, width=width, depth=depth)


def stars_moons_data(n_train: int = 2000, n_test: int = 1000, size: int = 32, rule: float = 1.0,
                     seed: int = 0) -> tuple[Data, Data, Data]:
    """Train set and i.i.d. test set with the location rule obeyed by a fraction ``rule`` of the
    images, and an o.o.d. test set with shapes at uniformly random positions."""
    check_positive_int(n_test, "n_test", 2)
    train = make_stars_moons(n_train, size, rule=rule, seed=seed)
    iid = make_stars_moons(n_test, size, rule=rule, seed=seed + 1)
    ood = make_stars_moons(n_test, size, ood=True, seed=seed + 2)
    return train, iid, ood


@dataclass
class StarsMoonsResult:
    """Accuracies of one stars-and-moons run; ``model`` is the trained network."""

    arch: str
    rule: float
    train_acc: float
    iid_acc: float
    ood_acc: float
    seconds: float
    model: nn.Module = field(repr=False)

    def as_dict(self) -> dict:
        return {"arch": self.arch, "rule": self.rule, "train_acc": self.train_acc, "iid_acc": self.iid_acc,
                "ood_acc": self.ood_acc, "seconds": self.seconds}


def stars_moons_experiment(arch: str = "fc", rule: float = 1.0, size: int = 32, n_train: int = 2000,
                           n_test: int = 1000, epochs: int = 5, batch_size: int = 100, lr: float = 1e-3,
                           hidden=(1024, 1024), width: int = 16, depth: int = 3, seed: int = 0,
                           data: tuple | None = None) -> StarsMoonsResult:
    """Train ``arch`` on stars and moons whose location obeys the rule, test i.i.d. and o.o.d.

    The defaults follow Geirhos et al. (2020): Adam, batch 100, 5 epochs. ``data`` may pass a ready
    ``(train, iid, ood)`` triple (e.g. from :func:`stars_moons_data`) to share it between runs.
    """
    check_option(arch, "architecture", tuple(ARCHITECTURES))
    check_fraction(rule, "rule")
    train, iid, ood = data if data is not None else stars_moons_data(n_train, n_test, size, rule, seed)
    runtime.seed_everything(seed)
    model = stars_moons_model(arch, train.input_shape, hidden=hidden, width=width, depth=depth)
    start = time.perf_counter()
    fit(model, train, epochs=epochs, batch_size=batch_size, optimizer="adam", lr=lr, seed=seed, progress=False)
    accs = [evaluate(model, d).accuracy for d in (train, iid, ood)]
    return StarsMoonsResult(arch, float(rule), *accs, seconds=time.perf_counter() - start, model=model)


# ----------------------------------------------------------------------------------------------
# 2. injected shortcuts: the base images and the sweep over the cue strength p


def upscale(data: Data, size: int) -> Data:
    """Images resized to ``size`` x ``size`` (bilinear), meta kept; e.g. 8x8 digits to 16x16."""
    if not isinstance(data, Data) or not data.is_image:
        raise TypeError("upscale needs a labkit Data holding images [N, C, H, W]")
    size = check_positive_int(size, "size", 2)
    X = F.interpolate(data.X, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return Data(X, data.y, classes=data.classes, name=f"{data.name} ({size}x{size})", meta=dict(data.meta))


def base_images(source: str = "digits", size: int | None = None, n_train: int | None = None,
                n_test: int | None = None, seed: int = 0, root=None) -> tuple[Data, Data]:
    """The images that shortcuts are injected into, as a ``(train, test)`` pair.

    ``"digits"``: scikit-learn's 8x8 digits (embedded, offline), 70 % / 30 % stratified split,
    optionally resized to ``size``. ``"cifar10"``: the real CIFAR-10 training and test sets
    (from ``root``, default ``$LABKIT_DATA``; downloads them if torchvision can, and fails with a
    clear message offline). ``n_train``/``n_test`` keep a random subset.
    """
    from .data.core import train_val_test_split
    from .data.embedded import load_digits

    check_option(source, "source", ("digits", "cifar10"))
    if source == "digits":
        train, _, test = train_val_test_split(load_digits(), val=0.0, test=0.3, seed=seed)
    else:
        from .data.real import load_real
        try:
            train, test = load_real("cifar10", train=True, root=root), load_real("cifar10", train=False, root=root)
        except (RuntimeError, FileNotFoundError) as err:
            raise RuntimeError(f"The full-scale shortcut experiments use CIFAR-10, which could not be "
                               f"loaded: {err}\nRun with LABKIT_SCALE=class to use the embedded digits "
                               "instead, or put CIFAR-10 under $LABKIT_DATA.") from err
    gen = torch.Generator().manual_seed(seed)
    if n_train is not None and n_train < len(train):
        train = train.subset(torch.randperm(len(train), generator=gen)[:check_positive_int(n_train, "n_train")].sort().values)
    if n_test is not None and n_test < len(test):
        test = test.subset(torch.randperm(len(test), generator=gen)[:check_positive_int(n_test, "n_test")].sort().values)
    if size is not None and size != train.X.shape[-1]:
        train, test = upscale(train, size), upscale(test, size)
    return train, test


def _builder(model) -> Callable[[Data], nn.Module]:
    """``model`` as a function of the data: a name for :func:`make_model`, or a callable."""
    if isinstance(model, str):
        return lambda data: make_model(model, data)
    if callable(model):
        return model
    raise TypeError(f"model must be a model name ('mlp', 'cnn', 'vgg', 'resnet') or a callable data -> "
                    f"model, got {type(model).__name__}")


def shortcut_sweep(train: Data, test: Data, ps: Sequence[float] = (0.0, 0.5, 0.9, 1.0), kind: str = "patch",
                   model="mlp", epochs: int = 10, batch_size: int = 64, lr: float | None = None,
                   seeds: Sequence[int] = (0,), patch_size: int | None = None) -> pd.DataFrame:
    """Train on ``train`` with a ``kind`` cue of strength p, for each p in ``ps`` and each seed.

    Returns one row per (p, seed) with ``train_acc``, ``iid_acc`` (test cue injected with the same p),
    ``ood_shuffle_acc`` (cue drawn at random, so it points to a wrong class 9 times in 10 for ten
    classes) and ``ood_remove_acc`` (no cue at all; not defined for ``kind="colour"`` whose
    "no cue" is a grey image, which is reported all the same).
    """
    check_option(kind, "shortcut kind", SHORTCUT_KINDS)
    if len(ps) == 0:
        raise ValueError("ps is empty; give at least one cue strength in [0, 1]")
    if len(seeds) == 0:
        raise ValueError("seeds is empty; give at least one seed")
    for p in ps:
        check_fraction(p, "p")
    build = _builder(model)
    shuffled = shortcut_ood(test, kind, "shuffle", seed=10_001, patch_size=patch_size)
    removed = shortcut_ood(test, kind, "remove", patch_size=patch_size)
    rows = []
    for p in ps:
        for seed in seeds:
            tr = inject_shortcut(train, kind, p=float(p), seed=seed, patch_size=patch_size)
            iid = inject_shortcut(test, kind, p=float(p), seed=10_000 + seed, patch_size=patch_size)
            runtime.seed_everything(seed)
            net = build(tr)
            fit(net, tr, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False)
            rows.append({"p": float(p), "seed": int(seed), "train_acc": evaluate(net, tr).accuracy,
                         "iid_acc": evaluate(net, iid).accuracy,
                         "ood_shuffle_acc": evaluate(net, shuffled).accuracy,
                         "ood_remove_acc": evaluate(net, removed).accuracy})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# 3. where does the shortcut live? counterfactual training, block by block


def paired_shortcut_data(data: Data, kind: str = "patch", p: float = 0.9, seed: int = 0,
                         patch_size: int | None = None) -> tuple[Data, Data]:
    """The same images twice: ``clean`` with a cue drawn independently of the label (p = 0) and
    ``skewed`` with a cue that reveals the label with probability ``p``.

    Both use the same random draws, so example i differs between them only where the skewed cue
    was set to the label; the labels are identical. Clean data thus has the cue as a harmless
    distraction; only its correlation with the label differs, which is the skew.
    """
    check_fraction(p, "p")
    clean = inject_shortcut(data, kind, p=0.0, seed=seed, patch_size=patch_size)
    skewed = inject_shortcut(data, kind, p=p, seed=seed, patch_size=patch_size)
    return clean, skewed


def batch_plan(n: int, batch_size: int, epochs: int, seed: int = 0) -> list:
    """The order in which examples are visited: one permutation per epoch, cut into batches.

    Computing it once and reusing it makes every counterfactual run see the same batches.
    """
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    gen = torch.Generator().manual_seed(check_positive_int(seed, "seed", 0))
    plan = []
    for _ in range(check_positive_int(epochs, "epochs")):
        perm = torch.randperm(n, generator=gen)
        plan += list(perm.split(batch_size))
    return plan


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


@contextlib.contextmanager
def _running_stats_frozen(modules):
    """Batch-norm layers keep their running statistics (momentum 0) inside this block."""
    saved = [m.momentum for m in modules]
    for m in modules:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, mom in zip(modules, saved):
            m.momentum = mom


def _base_lr(optimizer: str, lr) -> float:
    check_option(optimizer, "optimizer", tuple(DEFAULT_LR))
    return DEFAULT_LR[optimizer] if lr is None else check_fraction(lr, "lr", 0.0, 100.0, inclusive_low=False)


def _make_opt(groups, optimizer: str, lr: float) -> torch.optim.Optimizer:
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    return (torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW)(groups, lr=lr)


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


def _on_device(clean: Data, skewed: Data, device) -> tuple[dict, torch.Tensor]:
    X = {"clean": clean.X.to(device), "skewed": skewed.X.to(device)}
    if device.type == "cuda" and X["clean"].dim() == 4:
        X = {k: v.contiguous(memory_format=torch.channels_last) for k, v in X.items()}
    return X, clean.y.to(device)


def train_blockwise(model: BlockNet, clean: Data, skewed: Data, sources="skewed", *, epochs: int = 10,
                    batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                    lr_scale: Mapping | None = None, plan: list | None = None, seed: int = 0,
                    device=None) -> dict:
    """Train ``model`` in place; block b learns from ``sources[b]`` ("clean" or "skewed") batches.

    Every step takes one batch of indices (from ``plan``, default :func:`batch_plan`), computes the
    loss on the clean version of the batch and on the skewed version, and gives each block the
    gradient of the loss of its own source. With ``sources="skewed"`` (or ``"clean"``) this is
    ordinary training on one dataset. Batch-norm running statistics of a block follow its source.

    ``lr_scale`` multiplies the learning rate of named blocks (0 freezes a block): the layer-wise
    mitigation of the lecture. Returns ``{"loss_clean": array, "loss_skewed": array}`` per step
    (NaN where a source was not used).
    """
    if not isinstance(model, BlockNet):
        raise TypeError(f"train_blockwise needs a labkit BlockNet with named blocks, got {type(model).__name__}")
    sources = _check_assignment(model, sources)
    _check_paired(clean, skewed)
    scale = _check_lr_scale(model, lr_scale)
    base_lr = _base_lr(optimizer, lr)
    device = torch.device(device) if device is not None else runtime.get_device()
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    X, y = _on_device(clean, skewed, device)
    plan = plan if plan is not None else batch_plan(len(clean), batch_size, epochs, seed)

    # one parameter group per block, so each can have its own learning rate (0: frozen, left out)
    groups, params_of = [], {"clean": [], "skewed": []}
    for name, block in model.blocks.items():
        params = [p for p in block.parameters() if p.requires_grad]
        if scale[name] == 0.0 or not params:
            continue
        groups.append({"params": params, "lr": base_lr * scale[name]})
        params_of[sources[name]] += params
    opt = _make_opt(groups, optimizer, base_lr)
    bn_of = {s: [m for name, block in model.blocks.items() if sources[name] != s
                 for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)] for s in SOURCES}
    amp = runtime.amp_dtype(device) == torch.bfloat16  # fp16 would need a loss scaler per source
    nan = torch.tensor(float("nan"), device=device)
    log = {"clean": [], "skewed": []}
    model.train()
    for idx in plan:
        idx = idx.to(device)
        opt.zero_grad(set_to_none=True)
        for src in SOURCES:
            if not params_of[src]:
                log[src].append(nan)
                continue
            with _running_stats_frozen(bn_of[src]), runtime.autocast(device, enabled=amp):
                loss = F.cross_entropy(model(X[src][idx]).float(), y[idx])
            for p, g in zip(params_of[src], torch.autograd.grad(loss, params_of[src])):
                p.grad = g
            log[src].append(loss.detach())
        opt.step()
    model.eval()
    return {f"loss_{s}": torch.stack(v).cpu().numpy() for s, v in log.items()}


def _train_runs(build, clean, skewed, runs: dict, *, seed: int, epochs: int, batch_size: int, optimizer: str,
                lr, device) -> dict:
    """Train every run in ``runs`` (name -> (sources, lr_scale)) from one initialisation and one
    batch plan, both fixed by ``seed``; returns name -> trained model."""
    runtime.seed_everything(seed)
    model = build()
    if not isinstance(model, BlockNet):
        raise TypeError(f"build() must return a labkit BlockNet with named blocks, got {type(model).__name__}")
    init = copy.deepcopy(model.state_dict())
    plan = batch_plan(len(clean), batch_size, epochs, seed)
    out = {}
    for name, (sources, lr_scale) in runs.items():
        net = build()
        net.load_state_dict(init)
        runtime.seed_everything(seed)  # dropout etc. draw the same numbers in every run
        train_blockwise(net, clean, skewed, sources, optimizer=optimizer, lr=lr, lr_scale=lr_scale, plan=plan,
                        device=device)
        out[name] = net
    return out


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
class Localization:
    """Result of :func:`localize_shortcut`.

    ``accuracies`` maps each run ("all clean", "all skewed", "only <b> skewed", "only <b> clean") to
    its clean-test accuracy averaged over seeds; ``per_seed`` holds one such dict per seed;
    ``table`` is :func:`attribution_table` of the averages; ``iid_skewed`` the i.i.d. (skewed test)
    accuracy of the all-skewed run.
    """

    blocks: list
    accuracies: dict
    per_seed: list
    table: pd.DataFrame
    seconds: float
    iid_skewed: float = float("nan")

    @property
    def total_drop(self) -> float:
        return self.accuracies["all clean"] - self.accuracies["all skewed"]

    def pattern(self) -> dict:
        """Where spurious encoding and core forgetting sit, by depth (blocks numbered 0 .. L-1 from
        the input).

        Returns the block where each column peaks, each column's centre (the depth weighted by the
        column's positive parts), and ``shallow_encodes_deep_forgets``: True only when encoding
        peaks in a strictly shallower block than forgetting *and* its centre is shallower.
        """
        t = self.table.loc[self.blocks]
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


def counterfactual_runs(blocks: Sequence[str]) -> dict:
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


def mitigation_trial(build: Callable[[], BlockNet], clean: Data, skewed: Data, test: Data,
                     variants: Mapping[str, Mapping], *, iid_test: Data | None = None, epochs: int = 10,
                     batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                     seeds: Sequence[int] = (0,), device=None) -> pd.DataFrame:
    """Layer-wise mitigation: train on the skewed data with per-block learning-rate factors.

    ``variants`` maps a name to an ``lr_scale`` dict (``{}`` is plain skewed training, ``{"fc1":
    0}`` freezes fc1 at its initial weights, ``{"head": 0.1}`` slows the head down ten times).
    A run named ``"clean reference"`` is added: all blocks trained on clean data. Every run starts
    from the same initial weights and batch order. Returns one row per variant with its clean-test
    accuracy (and i.i.d. accuracy on ``iid_test`` if given), averaged over seeds.
    """
    _check_paired(clean, skewed)
    if not variants:
        raise ValueError("variants is empty; give at least one name -> lr_scale entry (e.g. {'plain': {}})")
    if len(seeds) == 0:
        raise ValueError("seeds is empty; give at least one seed")
    runs = {"clean reference": ("clean", None), **{name: ("skewed", scale) for name, scale in variants.items()}}
    rows = []
    for seed in seeds:
        nets = _train_runs(build, clean, skewed, runs, seed=seed, epochs=epochs, batch_size=batch_size,
                           optimizer=optimizer, lr=lr, device=device)
        for name, net in nets.items():
            row = {"variant": name, "clean_test_acc": evaluate(net, test).accuracy}
            if iid_test is not None:
                row["iid_acc"] = evaluate(net, iid_test).accuracy
            rows.append(row)
    return pd.DataFrame(rows).groupby("variant", sort=False).mean()


# ----------------------------------------------------------------------------------------------
# 4. the widget: a pure function and a thin ipywidgets wrapper


def demo_config(scale: str | None = None) -> dict:
    """Sizes for the widget at the active scale (each change of the controls trains at most once)."""
    return runtime.scaled(
        dict(size=32, n_train=300, n_test=200, epochs=4, hidden=(128, 128), width=8, depth=3),
        dict(size=32, n_train=1000, n_test=500, epochs=5, hidden=(512, 512), width=12, depth=3),
        dict(size=64, n_train=4000, n_test=1000, epochs=5, hidden=(1024, 1024), width=32, depth=3),
        scale=scale)


@dataclass
class DemoView:
    """What the widget shows: accuracies of the net trained at this rule, and one new test image."""

    rule: float
    arch: str
    iid_acc: float
    ood_acc: float
    draw: int
    image: torch.Tensor = field(repr=False)
    label: str = ""
    prediction: str = ""
    confidence: float = float("nan")
    examples: torch.Tensor = field(default=None, repr=False)
    example_titles: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"rule {self.rule:.2f} | {ARCHITECTURES[self.arch]} | i.i.d. accuracy {self.iid_acc:.2f} | "
                f"o.o.d. accuracy {self.ood_acc:.2f} | test image #{self.draw}: a {self.label} at a random "
                f"place, predicted {self.prediction} ({self.confidence:.2f})")


_DEMO_MODELS: dict = {}


def _demo_model(rule: float, arch: str, config: dict, seed: int):
    key = (round(rule, 4), arch, tuple(sorted((k, str(v)) for k, v in config.items())), seed)
    if key not in _DEMO_MODELS:
        data = stars_moons_data(config["n_train"], config["n_test"], config["size"], rule, seed)
        result = stars_moons_experiment(arch, rule, epochs=config["epochs"], hidden=config["hidden"],
                                        width=config["width"], depth=config["depth"], seed=seed, data=data)
        _DEMO_MODELS[key] = (result, data)
    return _DEMO_MODELS[key]


def demo_view(rule: float = 1.0, arch: str = "fc", draw: int = 0, config: dict | None = None,
              seed: int = 0, n_examples: int = 6) -> DemoView:
    """The widget's logic, without any widget: train (once per rule and architecture, then cached)
    on stars and moons whose location obeys the rule for a fraction ``rule`` of the training
    images, and classify o.o.d. test image number ``draw`` (a shape at a random place)."""
    check_fraction(rule, "rule", 0.5, 1.0)
    check_option(arch, "architecture", tuple(ARCHITECTURES))
    draw = check_positive_int(draw, "draw", 0)
    config = {**demo_config(), **(config or {})}
    result, (train, _, _) = _demo_model(float(rule), arch, config, seed)
    image = make_stars_moons(2, config["size"], ood=True, seed=100_000 + draw)
    with torch.inference_mode():
        probs = result.model.eval()(image.X.to(next(result.model.parameters()).device)).softmax(1).cpu()[0]
    k = int(probs.argmax())
    ex = train.subset(torch.arange(min(n_examples, len(train))))
    titles = [f"{train.classes[int(c)]}{'' if ok else ' (breaks rule)'}"
              for c, ok in zip(ex.y, ex.meta["obeys_rule"])]
    return DemoView(float(rule), arch, result.iid_acc, result.ood_acc, draw, image.X[0].cpu(),
                    image.classes[int(image.y[0])], image.classes[k], float(probs[k]), ex.X.cpu(), titles)


def render_demo(view: DemoView) -> bytes:
    """The view as a PNG: a few training images, then the new test image with its prediction."""
    from matplotlib.figure import Figure

    n = len(view.example_titles)
    fig = Figure(figsize=(1.5 * (n + 2), 2.0))
    axes = fig.subplots(1, n + 2)
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(view.examples[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"train: {view.example_titles[i]}", fontsize=7)
    ax = axes[-1]
    ax.imshow(view.image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    colour = "green" if view.prediction == view.label else "red"
    ax.set_title(f"new test image: {view.label}\npredicted {view.prediction} ({view.confidence:.2f})",
                 fontsize=8, color=colour)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return buf.getvalue()


def shortcut_demo(config: dict | None = None, seed: int = 0):
    """Interactive stars and moons: choose how many training images obey the location rule and the
    architecture, draw new test images. A thin wrapper around :func:`demo_view`."""
    import ipywidgets as w

    rule = w.FloatSlider(value=1.0, min=0.5, max=1.0, step=0.05, description="rule share",
                         continuous_update=False, readout_format=".2f")
    arch = w.Dropdown(options=[(label, key) for key, label in ARCHITECTURES.items()], value="fc",
                      description="network")
    button = w.Button(description="new test image", icon="refresh")
    summary = w.HTML(layout=w.Layout(min_height="2.5em"))
    summary.add_class("labkit-shortcut-summary")
    picture = w.Image(format="png")
    state = {"draw": 0}

    def update(*_):
        summary.value = "<i>training ...</i>"
        view = demo_view(rule.value, arch.value, state["draw"], config, seed)
        picture.value = render_demo(view)
        summary.value = f"<b>{view.summary()}</b>"

    def new_image(_):
        state["draw"] += 1
        update()

    rule.observe(update, names="value")
    arch.observe(update, names="value")
    button.on_click(new_image)
    update()
    box = w.VBox([w.HBox([rule, arch, button]), summary, picture])
    box.add_class("labkit-shortcut-demo")
    return box


# ----------------------------------------------------------------------------------------------
# 5. figures (each takes results and returns the Axes it drew on)


def plot_rule_taxonomy(ax=None):
    """The nested sets of decision rules (after Geirhos et al., 2020, Fig. 3)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    sets = [("all possible decision rules", 6.2, 3.4, "#e8e8e8"),
            ("rules that solve the training set", 4.9, 2.6, "#c9dcf0"),
            ("... and the i.i.d. test set (shortcuts live here)", 3.6, 1.8, "#9cc3e6"),
            ("intended rule:\nalso solves o.o.d. tests", 1.6, 0.8, "#f2b45c")]
    for i, (label, w, h, colour) in enumerate(sets):
        cx = 0.35 * i
        ax.add_patch(Ellipse((cx, 0), w, h, facecolor=colour, edgecolor="k", lw=0.8))
        ax.text(cx - w / 2 + (0.25 if i < 3 else 0.8), h / 2 - 0.3 if i < 3 else 0, label,
                fontsize=8, va="center", ha="left" if i < 3 else "center")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-1.8, 1.8)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def plot_stars_moons(results: Sequence, ax=None):
    """Grouped bars: train, i.i.d. and o.o.d. accuracy per architecture, chance at 0.5."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    names = ["train_acc", "iid_acc", "ood_acc"]
    x = np.arange(len(names))
    width = 0.8 / max(1, len(results))
    for i, r in enumerate(results):
        r = r.as_dict() if hasattr(r, "as_dict") else r
        vals = [r[n] for n in names]
        bars = ax.bar(x + (i - (len(results) - 1) / 2) * width, vals, width, label=ARCHITECTURES.get(r["arch"], r["arch"]))
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="chance")
    ax.set_xticks(x, ["train", "i.i.d. test", "o.o.d. test"])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def plot_sweep(sweep: pd.DataFrame, ax=None, label: str = ""):
    """Accuracy against the cue strength p: i.i.d., cue shuffled, cue removed (mean over seeds)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    mean = sweep.groupby("p").mean(numeric_only=True)
    for col, name, style in [("iid_acc", "i.i.d. (cue as in training)", "o-"),
                             ("ood_shuffle_acc", "o.o.d.: cue shuffled", "s-"),
                             ("ood_remove_acc", "o.o.d.: cue removed", "^--")]:
        ax.plot(mean.index, mean[col], style, label=f"{label} {name}".strip())
    ax.set_xlabel("cue strength p (share of training images whose cue gives the label)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return ax


def plot_localization(loc: Localization, ax=None, title: str | None = None):
    """Per-block bars of spurious encoding and core forgetting, plus the interaction remainder."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.5))
    t = loc.table.drop(index="total drop")
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["spurious_encoding"], 0.4, label="spurious encoding (only this block skewed)")
    ax.bar(x + 0.2, t["core_forgetting"], 0.4, label="core forgetting (only this block clean)")
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(len(t) - 1.5, color="grey", ls=":", lw=0.8)
    ax.set_xticks(x, list(t.index))
    ax.set_ylabel("clean-test accuracy points")
    ax.set_title(title or f"total drop {loc.total_drop:.2f} = sum of each colour's bars", fontsize=9)
    ax.legend(fontsize=8)
    return ax
