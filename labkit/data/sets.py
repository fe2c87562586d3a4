"""The data sets lectures build from the embedded and real ones (L1's stars and moons splits and
the base images shortcuts are injected into)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..validation import check_option, check_positive_int
from .core import Data, train_val_test_split
from .embedded import load_digits, make_stars_moons


def stars_moons_data(n_train: int = 2000, n_test: int = 1000, size: int = 32, rule: float = 1.0,
                     seed: int = 0) -> tuple[Data, Data, Data]:
    """Train set and i.i.d. test set with the location rule obeyed by a fraction ``rule`` of the
    images, and an o.o.d. test set with shapes at uniformly random positions."""
    check_positive_int(n_test, "n_test", 2)
    train = make_stars_moons(n_train, size, rule=rule, seed=seed)
    iid = make_stars_moons(n_test, size, rule=rule, seed=seed + 1)
    ood = make_stars_moons(n_test, size, ood=True, seed=seed + 2)
    return train, iid, ood


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
    check_option(source, "source", ("digits", "cifar10"))
    if source == "digits":
        train, _, test = train_val_test_split(load_digits(), val=0.0, test=0.3, seed=seed)
    else:
        from .real import load_real
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
