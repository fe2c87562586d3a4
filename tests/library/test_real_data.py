"""The real-data loaders, on small files written in the real on-disk formats (IDX for MNIST and
Fashion-MNIST, pickled batches for CIFAR), in torchvision's folder layout."""

import numpy as np
import pytest
import torch

import labkit as lk
from realfiles import write_cifar10, write_cifar100, write_idx, write_mnist


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
