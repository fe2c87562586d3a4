"""The real-data loaders, on small files written in the real on-disk formats (IDX for MNIST and
Fashion-MNIST, pickled batches for CIFAR), in torchvision's folder layout."""
import pickle
import struct

import numpy as np
import pytest
import torch

import labkit as lk


def write_idx(path, array: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root, folder="MNIST", n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        out[prefix] = (images, labels)
    return out


def write_cifar10(root, per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, size=per_batch).tolist(), "batch_label": name}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        batches[name] = batch
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    return batches, names


def write_cifar100(root, n=6, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    out = {}
    for split in ("train", "test"):
        batch = {"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
                 "fine_labels": rng.integers(0, 100, size=n).tolist(),
                 "coarse_labels": rng.integers(0, 20, size=n).tolist()}
        (folder / split).write_bytes(pickle.dumps(batch, protocol=2))
        out[split] = batch
    names = [f"class{i}" for i in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": names, "coarse_label_names": []}, protocol=2))
    return out, names


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_like_files(tmp_path, name, folder):
    written = write_mnist(tmp_path, folder)
    for train, prefix in ((True, "train"), (False, "t10k")):
        data = lk.data.load_real(name, train=train, root=tmp_path, download=False)
        images, labels = written[prefix]
        assert data.X.shape == (len(images), 1, 28, 28)
        assert torch.equal((data.X[:, 0] * 255).round().byte(), torch.from_numpy(images))
        assert torch.equal(data.y, torch.from_numpy(labels.astype(np.int64)))
        assert data.n_classes == 10
    assert data.classes[0] == ("0" if name == "mnist" else "T-shirt/top")


def test_cifar10_files(tmp_path):
    batches, names = write_cifar10(tmp_path)
    train = lk.data.load_real("cifar10", train=True, root=tmp_path, download=False)
    assert train.X.shape == (20, 3, 32, 32) and train.classes == names
    first = batches["data_batch_1"]
    # CIFAR stores each image as 1024 red, then 1024 green, then 1024 blue values, row by row.
    red_row0 = first["data"][0][:32]
    assert torch.equal((train.X[0, 0, 0] * 255).round().byte(), torch.from_numpy(red_row0))
    assert train.y[:4].tolist() == first["labels"]
    test = lk.data.load_real("cifar10", train=False, root=tmp_path, download=False)
    assert len(test) == 4 and test.y.tolist() == batches["test_batch"]["labels"]


def test_cifar100_files(tmp_path):
    written, names = write_cifar100(tmp_path)
    data = lk.data.load_real("cifar100", train=False, root=tmp_path, download=False)
    assert data.X.shape == (6, 3, 32, 32) and data.n_classes == 100
    assert data.y.tolist() == written["test"]["fine_labels"]


def test_tensors_are_cached_after_the_first_load(tmp_path):
    write_mnist(tmp_path)
    first = lk.data.load_real("mnist", root=tmp_path, download=False)
    assert (tmp_path / "labkit-mnist-train.pt").exists()
    for f in (tmp_path / "MNIST" / "raw").iterdir():
        f.unlink()  # the cache alone must be enough now
    again = lk.data.load_real("mnist", root=tmp_path, download=False)
    assert torch.equal(first.X, again.X) and torch.equal(first.y, again.y)


def test_gzipped_idx(tmp_path):
    import gzip
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x-idx3-ubyte", arr)
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(gzip.compress((tmp_path / "x-idx3-ubyte").read_bytes()))
    assert np.array_equal(lk.data.read_idx(tmp_path / "x-idx3-ubyte.gz"), arr)


def test_corrupt_files_are_reported(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        lk.data.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((4, 2), dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        lk.data.read_idx(tmp_path / "short")


def test_missing_files_without_download_name_the_embedded_sets(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_digits"):
        lk.data.load_real("cifar10", root=tmp_path, download=False)


def _torchvision_works() -> bool:
    try:
        import torchvision.datasets  # noqa: F401
        return True
    except Exception:
        return False


@pytest.mark.skipif(_torchvision_works(), reason="torchvision imports here; the failure path cannot be shown")
def test_download_without_torchvision_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="torchvision could not be imported.*load_digits"):
        lk.data.load_real("mnist", root=tmp_path, download=True)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        lk.data.load_real("imagenet")


@pytest.mark.torchvision
@pytest.mark.skipif(not _torchvision_works(), reason="torchvision cannot be imported here (see README, GPU users)")
def test_labkit_reads_what_torchvision_reads(tmp_path):
    import torchvision.datasets as tvd
    write_mnist(tmp_path)
    ours = lk.data.load_real("mnist", root=tmp_path, download=False)
    theirs = tvd.MNIST(str(tmp_path), train=True, download=False)
    assert torch.equal((ours.X[:, 0] * 255).round().byte(), theirs.data)
    assert torch.equal(ours.y, theirs.targets)


def test_a_broken_torchvision_neither_stops_labkit_nor_hides_the_cause(tmp_path):
    """The CUDA-only torchvision build beside a CPU torch fails at import with this very error;
    labkit must still import, and downloading must say what went wrong and what to do."""
    import subprocess
    import sys
    fake = tmp_path / "site" / "torchvision"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    code = ("import labkit as lk\n"
            "try:\n"
            f"    lk.data.load_real('mnist', root={str(tmp_path / 'data')!r})\n"
            "except RuntimeError as err:\n"
            "    print('ERROR:', err)\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "torchvision::nms does not exist" in out.stdout and "load_digits" in out.stdout
