import numpy as np
import pytest
import torch

import labkit as lk
from labkit import runtime


def test_scale_from_environment(monkeypatch):
    for scale in ("smoke", "class", "full"):
        monkeypatch.setenv("LABKIT_SCALE", scale)
        assert lk.get_scale() == scale
    monkeypatch.setenv("LABKIT_SCALE", "CLASS ")
    assert lk.get_scale() == "class"


def test_unknown_scale_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LABKIT_SCALE", "huge")
    with pytest.raises(ValueError, match="smoke, class, full"):
        lk.get_scale()


def test_default_scale_is_class_on_every_device_and_smoke_under_nbgrader(monkeypatch):
    monkeypatch.delenv("LABKIT_SCALE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert lk.get_scale() == "class"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU runtime: faster, not larger
    assert lk.get_scale() == "class"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert lk.get_scale() == "smoke"


def test_scaled_picks_the_value_of_the_active_scale(monkeypatch):
    monkeypatch.setenv("LABKIT_SCALE", "class")
    assert lk.scaled(1, 2, 3) == 2
    assert lk.scaled(1, 2, 3, scale="full") == 3
    with pytest.raises(ValueError, match="unknown scale"):
        lk.scaled(1, 2, 3, scale="medium")


def test_same_seed_same_numbers():
    def draw():
        lk.seed_everything(123)
        return (np.random.rand(3), torch.rand(3), __import__("random").random())

    a, b = draw(), draw()
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
    lk.seed_everything(124)
    assert not torch.equal(torch.rand(3), a[1])


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_bad_seed(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        lk.seed_everything(bad)


def test_device_choice(monkeypatch):
    monkeypatch.setenv("LABKIT_DEVICE", "cpu")
    assert lk.get_device().type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            lk.get_device("cuda")
    monkeypatch.delenv("LABKIT_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert lk.get_device().type == expected
    if not torch.cuda.is_available():  # Apple silicon: MPS only when asked for, it is not tested here
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
        assert lk.get_device().type == "cpu"
        monkeypatch.setenv("LABKIT_DEVICE", "mps")
        assert lk.get_device().type == "mps"


def test_mixed_precision_policy():
    assert runtime.amp_dtype("cpu") is None
    with runtime.autocast("cpu"):
        assert torch.ones(2).dtype == torch.float32


@pytest.mark.gpu
def test_mixed_precision_on_cuda():
    dtype = runtime.amp_dtype("cuda")
    assert dtype in (torch.bfloat16, torch.float16)
    with runtime.autocast("cuda"):
        out = torch.nn.Linear(4, 4).cuda()(torch.ones(2, 4, device="cuda"))
    assert out.dtype == dtype


def test_setup_prints_device_scale_and_seed(capsys, monkeypatch):
    monkeypatch.setenv("LABKIT_SCALE", "smoke")
    info = lk.setup(seed=7)
    out = capsys.readouterr().out
    assert "scale: smoke" in out and "seed: 7" in out and "device:" in out
    assert "LABKIT_SCALE=smoke|class|full" in out and "LABKIT_DEVICE=cpu|cuda|mps" in out  # how to change them
    assert info.seed == 7 and lk.runtime.current_seed() == 7


def test_import_labkit_leaves_the_heavy_libraries_for_later():
    # every graded notebook's kernel and every lecture pays for `import labkit`: scikit-learn, pandas
    # and matplotlib (about 2 s together here) are imported where they are used, not at import time
    import subprocess
    import sys
    code = ("import sys, labkit; heavy = {m.split('.')[0] for m in sys.modules} & {'sklearn', 'pandas', 'matplotlib', 'scipy'};"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
