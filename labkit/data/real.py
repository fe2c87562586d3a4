"""The real datasets (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100), loaded once into tensors.

torchvision downloads the files (into torchvision's usual folder layout under ``root``); labkit
reads the raw files directly into one uint8 tensor and caches it as ``.pt``, so later loads take
a fraction of a second and no per-image PIL conversion ever happens. Where the files are already
on disk, torchvision is not needed at all.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from .. import runtime
from ..validation import check_option, check_positive_int
from .core import Data, Splits, quick_subset

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
# name -> (torchvision class, folder of the raw files under root, loader)
_SETS = {
    "mnist": ("MNIST", "MNIST/raw"),
    "fashion_mnist": ("FashionMNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py"),
    "cifar100": ("CIFAR100", "cifar-100-python"),
}
EMBEDDED_HINT = ("The embedded sets work offline: lk.data.load_digits(), lk.data.make_stars_moons(), "
                 "lk.data.make_waterbirds(), or set LABKIT_SCALE=class to use them everywhere.")


def default_root() -> Path:
    """Where real datasets are kept: ``LABKIT_DATA`` or ``~/.cache/labkit``."""
    return Path(os.environ.get("LABKIT_DATA", Path.home() / ".cache" / "labkit"))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format; ``.gz`` also accepted) into a NumPy array."""
    path = Path(path)
    opener = __import__("gzip").open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {tuple(dims)} but the file holds {data.size} values (truncated?)")
    return data.reshape(tuple(int(d) for d in dims))


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / (stem + ".gz")):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(folder / stem)


def _read_mnist_like(folder: Path, train: bool):
    prefix = "train" if train else "t10k"
    images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
    return images[:, None], labels


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _read_cifar(folder: Path, train: bool, hundred: bool):
    if hundred:
        batch = _unpickle(folder / ("train" if train else "test"))
        data, labels = batch["data"], batch["fine_labels"]
        classes = _unpickle(folder / "meta")["fine_label_names"]
    else:
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        batches = [_unpickle(folder / name) for name in names]
        data = np.concatenate([b["data"] for b in batches])
        labels = sum((list(b["labels"]) for b in batches), [])
        classes = _unpickle(folder / "batches.meta")["label_names"]
    return np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels), classes


def _download(name: str, root: Path, train: bool) -> None:
    try:
        import torchvision.datasets as tvd
    except Exception as err:  # torchvision missing, or its compiled ops do not match torch
        raise RuntimeError(
            f"Cannot download {name}: torchvision could not be imported ({type(err).__name__}: {err}). "
            "Install a torchvision that matches your torch (pip install labkit[vision]; on Colab it is "
            f"preinstalled), or put the raw files under {root}. {EMBEDDED_HINT}") from err
    try:
        getattr(tvd, _SETS[name][0])(str(root), train=train, download=True)
    except Exception as err:
        raise RuntimeError(f"Downloading {name} into {root} failed ({type(err).__name__}: {err}). "
                           f"Are you offline? {EMBEDDED_HINT}") from err


def load_real(name: str, train: bool = True, root=None, download: bool = True) -> Data:
    """Load a real dataset as one Data: X uint8-derived float in [0, 1], shape [N, C, H, W].

    Parameters
    ----------
    name : "mnist" | "fashion_mnist" | "cifar10" | "cifar100"
    train : the training split (True) or the test split (False)
    root : folder holding the files in torchvision's layout (default :func:`default_root`)
    download : fetch the files with torchvision when they are missing
    """
    check_option(name, "dataset", tuple(_SETS))
    root = Path(root) if root is not None else default_root()
    split = "train" if train else "test"
    cache = root / f"labkit-{name}-{split}.pt"
    if cache.exists():
        saved = torch.load(cache, weights_only=True)
        images, labels, classes = saved["images"], saved["labels"], saved["classes"]
    else:
        folder = root / _SETS[name][1]
        try:
            images, labels, classes = _read_raw(name, folder, train)
        except FileNotFoundError:
            if not download:
                raise FileNotFoundError(f"{name} ({split}) is not under {folder} and download=False. "
                                        f"{EMBEDDED_HINT}") from None
            _download(name, root, train)
            images, labels, classes = _read_raw(name, folder, train)
        images, labels = torch.from_numpy(np.array(images, copy=True)), torch.from_numpy(labels.astype(np.int64))
        root.mkdir(parents=True, exist_ok=True)
        torch.save({"images": images, "labels": labels, "classes": list(classes)}, cache)
    return quick_subset(Data(images.float().div_(255), labels, classes=list(classes), name=f"{name} ({split})"))


def _read_raw(name: str, folder: Path, train: bool):
    if name in ("mnist", "fashion_mnist"):
        images, labels = _read_mnist_like(folder, train)
        classes = [str(i) for i in range(10)] if name == "mnist" else FASHION_CLASSES
        return images, labels, classes
    return _read_cifar(folder, train, hundred=name == "cifar100")


def real_splits(name: str, val: int = 5000, seed: int = 0, root=None, download: bool = True) -> Splits:
    """The lecture's ``full``-scale data: a real set's training split minus ``val`` examples
    (stratified; for the forest's early stopping), the held-out ``val``, and the real test split.

    name : ``"mnist"`` | ``"cifar10"`` (or any name :func:`labkit.data.load_real` knows).
    Needs the files or a working download; offline it says how to run the lecture on embedded data.
    """
    from sklearn.model_selection import train_test_split

    try:
        train = load_real(name, train=True, root=root, download=download)
        test = load_real(name, train=False, root=root, download=download)
    except (RuntimeError, FileNotFoundError) as err:
        raise RuntimeError(f"The full scale of this lecture needs {name}, which could not be loaded: {err} "
                           "To run the lecture on the embedded shifted digits instead, set "
                           "LABKIT_SCALE=class (or smoke) before starting the notebook.") from err
    val = check_positive_int(val, "val")
    if runtime.quick():  # the quick-run subsets are small: hold out a fifth instead
        val = min(val, max(2 * train.n_classes, len(train) // 5))
    if val >= len(train):
        raise ValueError(f"val={val} leaves nothing to train on: {name} has {len(train)} training examples")
    idx = np.arange(len(train))
    labels = train.y.cpu().numpy()
    stratify = labels if np.bincount(labels).min() >= 2 else None
    rest, held = train_test_split(idx, test_size=val, random_state=seed, stratify=stratify)
    return Splits(train.subset(np.sort(rest)), train.subset(np.sort(held)), test)
