"""Small files in the real on-disk formats of the real datasets (IDX for MNIST and Fashion-MNIST,
pickled batches for CIFAR-10 and CIFAR-100), in torchvision's folder layout, so the loaders and the
``full`` scale run without a download. Random pixels, labels covering every class."""
import pickle
import struct

import numpy as np


def write_idx(path, array: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _labels(rng, n, k, balanced):
    return rng.permutation(np.arange(n) % k) if balanced else rng.integers(0, k, size=n)


def write_mnist(root, folder="MNIST", n_train=12, n_test=5, seed=0, balanced=False):
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = _labels(rng, n, 10, balanced).astype(np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        out[prefix] = (images, labels)
    return out


def write_cifar10(root, per_batch=4, seed=0, n_test=None, balanced=False):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = n_test if (name == "test_batch" and n_test) else per_batch
        batch = {"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
                 "labels": _labels(rng, n, 10, balanced).tolist(), "batch_label": name}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        batches[name] = batch
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    return batches, names


def write_cifar100(root, n=6, seed=0, n_test=None, balanced=False):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    out = {}
    for split in ("train", "test"):
        m = n_test if (split == "test" and n_test) else n
        batch = {"data": rng.integers(0, 256, size=(m, 3072), dtype=np.uint8),
                 "fine_labels": _labels(rng, m, 100, balanced).tolist(),
                 "coarse_labels": rng.integers(0, 20, size=m).tolist()}
        (folder / split).write_bytes(pickle.dumps(batch, protocol=2))
        out[split] = batch
    names = [f"class{i}" for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": names, "coarse_label_names": []}, protocol=2))
    return out, names


def write_all(root, n_train: int = 600, n_test: int = 300, seed: int = 0):
    """Every real set under ``root`` with ``n_train`` / ``n_test`` examples and every class present."""
    write_mnist(root, "MNIST", n_train, n_test, seed, balanced=True)
    write_mnist(root, "FashionMNIST", n_train, n_test, seed + 1, balanced=True)
    write_cifar10(root, per_batch=n_train // 5, seed=seed + 2, n_test=n_test, balanced=True)
    write_cifar100(root, n=n_train, seed=seed + 3, n_test=n_test, balanced=True)
    return root
