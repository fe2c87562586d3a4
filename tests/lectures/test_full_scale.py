"""The ``full`` scale, exercised on a CPU before a student meets it on a GPU.

Every lecture and every solution notebook runs at ``LABKIT_SCALE=full`` with the quick-run switch on
(``LABKIT_QUICK=1``: every training run stops after a few steps, every dataset keeps a few hundred
examples), on small files in the real formats placed where ``lk.data.load_real`` looks, so nothing
is downloaded and torchvision is not needed. A shape that does not fit, a configuration key only the
``full`` branch reads, a loader path or a plot that assumes ten classes fails here. New lectures and
assignments are picked up without any change to this file.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

import labkit as lk
from notebook_runner import assert_ran_cleanly, outputs_text, run_notebook
from realfiles import write_all

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "lectures").glob("L*.ipynb")) + sorted((ROOT / "solutions").glob("*/*.ipynb"))


@pytest.fixture(scope="module")
def real_root(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("real-data"))


def quick_env(root) -> dict:
    return {"LABKIT_QUICK": "1", "LABKIT_DATA": str(root), "LABKIT_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}


def allowed_errors(path: Path) -> tuple:
    # an exercise's checks test values (accuracies, sizes) that 3 training steps on a few hundred
    # examples cannot reach: a failed check is expected there; any other error is a broken code path
    return ("CheckFailed",) if path.parent.parent.name == "solutions" else ()


@pytest.fixture(scope="module")
def full_runs(request, real_root):
    """path -> Future of its executed notebook: the selected notebooks run two at a time (one
    kernel per core, one torch thread each), the longest first."""
    wanted = [item.callspec.params["path"] for item in request.session.items
              if item.module.__name__ == __name__ and hasattr(item, "callspec")]
    pool = ThreadPoolExecutor(max_workers=2)
    runs = {path: pool.submit(run_notebook, path, scale="full", env=quick_env(real_root), timeout=300,
                              allow_error_names=allowed_errors(path))
            for path in sorted(wanted, key=lambda p: p.parent.name != "lectures")}
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_notebook_runs_clean_at_full_scale_quickly(path, real_root, full_runs):
    nb, _ = full_runs[path].result()
    assert_ran_cleanly(nb, scale="full", allowed=allowed_errors(path))
    assert "QUICK RUN" in outputs_text(nb), "the setup output must say that the quick-run switch is on"
    assert not any(p.name.endswith(".pt") and "downloaded" in p.name for p in Path(real_root).iterdir())


def test_quick_mode_caps_training_and_data_and_changes_nothing_when_off(real_root):
    train = lk.data.load_digits()
    assert len(train) == 1797
    with mock.patch.dict(os.environ, {"LABKIT_QUICK": "1", "LABKIT_DATA": str(real_root)}):
        small = lk.data.load_digits()
        assert len(small) < 300 and set(small.y.tolist()) == set(range(10))
        cifar100 = lk.data.load_real("cifar100", train=True, download=False)
        assert len(set(cifar100.y.tolist())) == 100 and len(cifar100) == 300
        sizes = []
        history = lk.fit(lk.models.make_model("mlp", small), small, epochs=4, batch_size=128, progress=False,
                         callbacks=[lambda state: sizes.append(state.member_index.shape[-1])])
        assert history.steps == lk.runtime.QUICK_STEPS and sizes == [lk.runtime.QUICK_BATCH] * lk.runtime.QUICK_STEPS
        assert "QUICK RUN" in str(lk.setup(verbose=False))
    lk.seed_everything(0)
    history = lk.fit(lk.models.make_model("mlp", train), train, epochs=2, batch_size=128, progress=False)
    assert history.steps == 2 * 15 and "QUICK RUN" not in str(lk.setup(verbose=False))
    with mock.patch.dict(os.environ, {"LABKIT_QUICK": "maybe"}), pytest.raises(ValueError, match="LABKIT_QUICK"):
        lk.runtime.quick()
