"""Injected shortcuts (L1 §2): a cue whose identity or position gives the label in a share p of
the training set, and what the network does when the cue is shuffled or removed; and the same
images as a clean and a skewed pair, which the localization of L1 §3 trains on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd
from torch import nn

from .. import runtime
from ..data.core import Data
from ..data.transforms import SHORTCUT_KINDS, inject_shortcut, shortcut_ood
from ..models import make_model
from ..results import Result, Rows
from ..training import evaluate, fit
from ..validation import check_fraction, check_option


def _builder(model) -> Callable[[Data], nn.Module]:
    """``model`` as a function of the data: a name for :func:`make_model`, or a callable."""
    if isinstance(model, str):
        return lambda data: make_model(model, data)
    if callable(model):
        return model
    raise TypeError(f"model must be a model name ('mlp', 'cnn', 'vgg', 'resnet') or a callable data -> "
                    f"model, got {type(model).__name__}")


@dataclass
class ShortcutSweep(Rows):
    """The result of :func:`shortcut_sweep`: ``rows`` has one row per (cue strength p, seed) with the
    columns ``p``, ``seed``, ``train_acc``, ``iid_acc``, ``ood_shuffle_acc`` and ``ood_remove_acc``
    (``table().groupby("p").mean()`` averages the seeds)."""


def shortcut_sweep(train: Data, test: Data, ps: Sequence[float] = (0.0, 0.5, 0.9, 1.0), kind: str = "patch",
                   model="mlp", epochs: int = 10, batch_size: int = 64, lr: float | None = None,
                   seeds: Sequence[int] = (0,), patch_size: int | None = None) -> ShortcutSweep:
    """Train on ``train`` with a ``kind`` cue of strength p, for each p in ``ps`` and each seed.

    Returns
    -------
    ShortcutSweep
        Its ``table()`` has one row per (p, seed), in the order of ``ps`` then ``seeds``, with the
        columns ``p``, ``seed``, ``train_acc``, ``iid_acc`` (test cue injected with the same p),
        ``ood_shuffle_acc`` (cue drawn at random, so it points to a wrong class 9 times in 10 for
        ten classes) and ``ood_remove_acc`` (no cue at all; not defined for ``kind="colour"``
        whose "no cue" is a grey image, which is reported all the same).
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
            fit(net, tr, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
            rows.append({"p": float(p), "seed": int(seed), "train_acc": evaluate(net, tr).accuracy,
                         "iid_acc": evaluate(net, iid).accuracy,
                         "ood_shuffle_acc": evaluate(net, shuffled).accuracy,
                         "ood_remove_acc": evaluate(net, removed).accuracy})
    return ShortcutSweep(pd.DataFrame(rows))


@dataclass
class ShortcutPair(Result):
    """The two versions of one dataset that :func:`paired_shortcut_data` makes.

    Attributes
    ----------
    clean : Data, the cue drawn independently of the label (p = 0)
    skewed : Data, the same images with a cue that reveals the label with probability p
    """

    clean: Data
    skewed: Data

    def table(self) -> pd.DataFrame:
        """One row per example (index ``example``) with the columns ``label``, ``clean_cue`` and
        ``skewed_cue``: the class each version's cue shows (it reveals the label where it equals it)."""
        out = pd.DataFrame({"label": self.clean.y.cpu().numpy(),
                            "clean_cue": self.clean.meta["cue"].cpu().numpy(),
                            "skewed_cue": self.skewed.meta["cue"].cpu().numpy()})
        out.index.name = "example"
        return out


def paired_shortcut_data(data: Data, kind: str = "patch", p: float = 0.9, seed: int = 0,
                         patch_size: int | None = None) -> ShortcutPair:
    """The same images twice: ``clean`` with a cue drawn independently of the label (p = 0) and
    ``skewed`` with a cue that reveals the label with probability ``p``.

    Both use the same random draws, so example i differs between them only where the skewed cue
    was set to the label; the labels are identical. Clean data thus has the cue as a harmless
    distraction; only its correlation with the label differs, which is the skew.

    Returns
    -------
    ShortcutPair
        ``clean`` and ``skewed`` (labkit Data); its ``table()`` has one row per example with the
        ``label`` and the cue of each version (``clean_cue``, ``skewed_cue``).
    """
    check_fraction(p, "p")
    clean = inject_shortcut(data, kind, p=0.0, seed=seed, patch_size=patch_size)
    skewed = inject_shortcut(data, kind, p=p, seed=seed, patch_size=patch_size)
    return ShortcutPair(clean, skewed)
