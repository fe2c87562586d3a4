"""The one container every labkit function passes around, and deterministic splits."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import torch

from .. import runtime
from ..validation import check_features, check_fraction, check_labels


@dataclass
class Data:
    """Examples and labels as tensors, kept whole so they can live on the device.

    Attributes
    ----------
    X : float tensor, shape [N, D] (tabular) or [N, C, H, W] (images, values in [0, 1])
    y : long tensor, shape [N], labels in 0 .. n_classes-1
    classes : list of str, the class names (length n_classes)
    name : str, a short description shown in plots and summaries
    meta : dict of per-example tensors of length N (e.g. ``flipped``, ``group``, ``cue``);
        :meth:`subset` keeps them aligned with X and y.
    """

    X: torch.Tensor
    y: torch.Tensor
    classes: list = field(default_factory=list)
    name: str = "data"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.X = check_features(self.X, "X")
        self.y = check_labels(self.y, n=self.X.shape[0], name="y").to(self.X.device)
        if not self.classes:
            self.classes = [str(c) for c in range(int(self.y.max()) + 1)]
        if int(self.y.max()) >= len(self.classes):
            raise ValueError(f"y has label {int(self.y.max())} but only {len(self.classes)} class names")
        for key, value in self.meta.items():
            if len(value) != len(self.y):
                raise ValueError(f"meta[{key!r}] has length {len(value)} but the data has {len(self.y)} examples")

    def __len__(self) -> int:
        return self.X.shape[0]

    def __repr__(self) -> str:
        meta = f", meta={sorted(self.meta)}" if self.meta else ""
        return (f"Data({self.name!r}, X={tuple(self.X.shape)}, n_classes={self.n_classes}, "
                f"device={self.X.device.type}{meta})")

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple:
        """Shape of one example, e.g. (1, 8, 8) or (2,)."""
        return tuple(self.X.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.X.dim() == 4

    def to(self, device) -> "Data":
        """A copy with X, y and meta tensors on ``device`` (not checked again: moving changes no value)."""
        out = copy.copy(self)
        out.X, out.y = self.X.to(device), self.y.to(device)
        out.meta = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.meta.items()}
        return out

    def subset(self, index) -> "Data":
        """The examples at ``index`` (integer indices or a boolean mask), meta included."""
        index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            if index.shape[0] != len(self):
                raise ValueError(f"boolean mask has length {index.shape[0]}, data has {len(self)}")
            index = index.nonzero().squeeze(1)
        index = index.long().to(self.X.device)
        if index.numel() == 0:
            raise ValueError("the subset is empty; select at least one example")
        meta = {k: v[index.to(v.device)] if isinstance(v, torch.Tensor) else np.asarray(v)[index.cpu().numpy()]
                for k, v in self.meta.items()}
        return replace(self, X=self.X[index], y=self.y[index], meta=meta)

    def with_labels(self, y, **meta) -> "Data":
        """A copy with new labels (e.g. after injecting noise) and extra meta entries."""
        return replace(self, y=torch.as_tensor(y).to(self.X.device), meta={**self.meta, **meta})

    def flat(self) -> np.ndarray:
        """X as a NumPy array of shape [N, features], for scikit-learn models."""
        return self.X.reshape(len(self), -1).cpu().numpy()


def as_data(data, name: str = "data") -> Data:
    """Accept a labkit Data or an ``(X, y)`` pair."""
    if isinstance(data, Data):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return Data(data[0], data[1], name=name)
    raise TypeError(f"{name} must be a labkit Data or an (X, y) pair, got {type(data).__name__}")


class Splits(NamedTuple):
    train: Data
    val: Data
    test: Data


def train_val_test_split(data: Data, val: float = 0.15, test: float = 0.15, seed: int = 0,
                         stratify: bool = True) -> Splits:
    """Deterministic stratified split into train / validation / test.

    ``val`` and ``test`` are fractions of the whole set; the same ``seed`` always gives the same
    split. Set ``val=0`` for no validation split (``Splits.val`` is then ``None``).
    """
    if not isinstance(data, Data):
        raise TypeError(f"data must be a labkit Data, got {type(data).__name__}; wrap arrays with lk.data.Data(X, y)")
    check_fraction(val, "val", 0.0, 1.0, inclusive_high=False)
    check_fraction(test, "test", 0.0, 1.0, inclusive_low=False, inclusive_high=False)
    if val + test >= 1.0:
        raise ValueError(f"val + test must leave examples to train on, got val={val}, test={test}")
    from sklearn.model_selection import train_test_split as _sk_split  # here: scikit-learn costs a second to import
    labels = data.y.cpu().numpy()
    idx = np.arange(len(data))
    strat = labels if stratify else None
    rest, test_idx = _sk_split(idx, test_size=test, random_state=seed, stratify=strat)
    if val == 0:
        return Splits(data.subset(np.sort(rest)), None, data.subset(np.sort(test_idx)))
    strat = labels[rest] if stratify else None
    train_idx, val_idx = _sk_split(rest, test_size=val / (1.0 - test), random_state=seed, stratify=strat)
    return Splits(*(data.subset(np.sort(i)) for i in (train_idx, val_idx, test_idx)))


def quick_subset(data: Data, seed: int = 0) -> Data:
    """``data`` itself, or under the quick-run switch (``LABKIT_QUICK=1``) a reproducible subset of
    about :data:`labkit.runtime.QUICK_EXAMPLES` examples with at least 3 of every class present (so
    stratified splits still work; CIFAR-100 keeps 300). The loaders call this; nothing else needs to."""
    if not runtime.quick():
        return data
    labels = data.y.cpu().numpy()
    present = np.unique(labels)
    per_class = max(3, runtime.QUICK_EXAMPLES // max(1, len(present)))
    if len(data) <= per_class * len(present):
        return data
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in present])
    return data.subset(np.sort(keep))


def quick_count(n: int, values_per_example: int = 1) -> int:
    """``n`` examples to generate, or under the quick-run switch at most
    :data:`labkit.runtime.QUICK_EXAMPLES`, and fewer (at least 16) when each example has so many input
    values that they would exceed :data:`labkit.runtime.QUICK_VALUES` in all (64x64 images: 64,
    200x200 images: 16)."""
    if not runtime.quick():
        return n
    return min(n, runtime.QUICK_EXAMPLES, max(16, runtime.QUICK_VALUES // max(1, int(values_per_example))))
