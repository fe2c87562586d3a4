"""MNIST-1D (Greydanus & Kobak, ICML 2024): ten digit templates turned into 1-D signals of length 40.

Small enough to train on in seconds on a CPU, and, unlike the 8x8 digits, hard enough to tell models
apart (published test accuracies: logistic regression 32 %, MLP 68 %, CNN 94 %, GRU 91 %). The set
is generated here with the ``mnist1d`` package's own generator from its templates, offline; nothing
is downloaded. The first call caches the signals under :func:`default_root`, later calls read them.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import torch

from ..validation import check_fraction, check_positive_int
from .core import Data, Splits, quick_subset, train_val_test_split
from .real import default_root

LENGTH = 40  # the standard set's signal length


def _generate(n_total: int, seed: int, **changes) -> tuple:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:
        raise ImportError("load_mnist1d needs the mnist1d package (a small pure-Python one): "
                          "pip install mnist1d") from err
    args = get_dataset_args()
    # the generator makes num_samples // 10 signals per class, shuffles them and splits at train_split
    args.num_samples = 10 * math.ceil(n_total / 10)
    args.train_split = 1.0
    args.seed = seed
    for key, value in changes.items():
        if not hasattr(args, key) or key in ("num_samples", "train_split", "seed", "url"):
            raise ValueError(f"mnist1d_shifted: {key!r} is not a setting of the MNIST-1D generator; use one of "
                             "scale_coeff, max_translation, corr_noise_scale, iid_noise_scale, shear_scale")
        setattr(args, key, type(getattr(args, key))(value))
    # the generator seeds Python's and NumPy's global generators: put the caller's state back
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        raw = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return np.asarray(raw["x"], dtype=np.float32), np.asarray(raw["y"], dtype=np.int64)


def load_mnist1d(n_train: int = 4000, n_test: int = 1000, seed: int = 42, val: float = 0.0,
                 root=None, cache: bool = True) -> Splits:
    """The MNIST-1D signals as ``Splits(train, val, test)``: X float [N, 1, 40], y in 0..9.

    The defaults give the standard set (5,000 signals generated with seed 42, the first 4,000 for
    training, the last 1,000 for testing), the one the published accuracies refer to. Other sizes
    or seeds generate a different set of ``n_train + n_test`` signals (rounded up to whole tens,
    balanced over the classes) the same way.

    Parameters
    ----------
    n_train, n_test : examples in the training and test split
    seed : the generator's seed (42 is the standard set)
    val : fraction of the training split held out, stratified, as ``Splits.val`` (0: ``val`` is None)
    root : cache folder (default :func:`default_root`); ``cache=False`` neither reads nor writes it
    """
    n_train = check_positive_int(n_train, "n_train", 10)
    n_test = check_positive_int(n_test, "n_test", 1)
    seed = check_positive_int(seed, "seed", 0)
    check_fraction(val, "val", 0.0, 1.0, inclusive_high=False)
    n_total = n_train + n_test
    path = Path(root if root is not None else default_root()) / f"labkit-mnist1d-{n_total}-seed{seed}.pt"
    if cache and path.exists():
        saved = torch.load(path, weights_only=True)
        X, y = saved["X"], saved["y"]
    else:
        X, y = (torch.from_numpy(a) for a in _generate(n_total, seed))
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"X": X, "y": y}, path)
    X = X[:, None, :]  # one channel: [N, 1, 40]
    classes = [str(i) for i in range(10)]
    train = quick_subset(Data(X[:n_train], y[:n_train], classes=classes, name="MNIST-1D (train)"))
    test = quick_subset(Data(X[n_train:n_total], y[n_train:n_total], classes=classes, name="MNIST-1D (test)"))
    if val == 0:
        return Splits(train, None, test)
    # carve the validation set out of the training split: the test split stays the standard one
    fit, _, held = train_val_test_split(train, val=0.0, test=val, seed=seed)
    return Splits(fit, held, test)


def mnist1d_shifted(n: int = 2000, seed: int = 4242, **changes) -> Data:
    """``n`` MNIST-1D signals generated with some of the generator's settings changed: a test set
    under a distribution shift (L5 §2). ``changes`` name the settings and their new values, e.g.
    ``corr_noise_scale=0.5`` (standard 0.25), ``iid_noise_scale=0.1`` (0.02), ``shear_scale=1.5``
    (0.75). Returns a :class:`Data` (X float [n, 1, 40], y in 0..9); nothing is cached."""
    n = check_positive_int(n, "n", 10)
    seed = check_positive_int(seed, "seed", 0)
    if not changes:
        raise ValueError("mnist1d_shifted: name at least one setting to change, e.g. corr_noise_scale=0.5")
    X, y = (torch.from_numpy(a) for a in _generate(n, seed, **changes))
    label = ", ".join(f"{k}={v}" for k, v in changes.items())
    return Data(X[:n, None, :], y[:n], classes=[str(i) for i in range(10)], name=f"MNIST-1D shifted ({label})")
