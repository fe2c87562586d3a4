"""Lecture L1 runs top to bottom at the smoke scale and shows what its text claims."""
from pathlib import Path

import nbformat
import pytest

from notebook_runner import assert_ran_cleanly, run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "lectures" / "L1_shortcuts.ipynb"


@pytest.fixture(scope="module")
def lecture():
    nb, values = run_notebook(NOTEBOOK, {"results": "results"}, scale="smoke")
    return nb, values["results"]


def test_has_its_widget_and_sources():
    sources = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells]
    assert any("shortcut_demo()" in s for s in sources)
    assert "arXiv:2510.26560" in sources[-1]


@pytest.mark.slow
def test_runs_cleanly_and_prints_its_setup_first(lecture):
    nb, results = lecture
    assert results["scale"] == "smoke"
    assert_ran_cleanly(nb)


@pytest.mark.slow
def test_fully_connected_net_learns_the_location_rule(lecture):
    _, results = lecture
    fc = results["stars_moons"]["fc"]
    assert fc["train_acc"] >= 0.95 and fc["iid_acc"] >= 0.95
    assert fc["ood_acc"] <= 0.60  # chance is 0.5


@pytest.mark.slow
def test_cnn_with_global_pooling_generalises_further(lecture):
    _, results = lecture
    fc, cnn = results["stars_moons"]["fc"], results["stars_moons"]["cnn"]
    assert cnn["ood_acc"] >= fc["ood_acc"] + 0.15
    assert cnn["ood_acc"] >= cnn["iid_acc"] - 0.15  # what it learned carries over to shapes anywhere


@pytest.mark.slow
def test_ood_accuracy_falls_as_p_rises(lecture):
    _, results = lecture
    sweep = results["sweep"]
    p, ood, iid = sweep["p"], sweep["ood_shuffle_acc"], sweep["iid_acc"]
    assert p == sorted(p) and p[0] == 0.0 and p[-1] == 1.0
    assert ood[-1] <= ood[0] - 0.3
    assert results["sweep_spearman"] <= -0.8
    assert iid[-1] >= 0.95  # the i.i.d. test does not notice


@pytest.mark.slow
def test_per_block_table_sums_to_the_measured_total_drop(lecture):
    _, results = lecture
    assert results["localization"]
    for arch, loc in results["localization"].items():
        acc, table, blocks = loc["accuracies"], loc["table"], loc["blocks"]
        measured = acc["all clean"] - acc["all skewed"]
        assert loc["total_drop"] == pytest.approx(measured)
        assert measured >= 0.2, f"{arch}: the skew should cost clean-test accuracy"
        for b in blocks:
            assert table["spurious_encoding"][b] == pytest.approx(acc["all clean"] - acc[f"only {b} skewed"])
            assert table["core_forgetting"][b] == pytest.approx(acc[f"only {b} clean"] - acc["all skewed"])
        for col in ("spurious_encoding", "core_forgetting", "attribution"):
            parts = [table[col][b] for b in blocks] + [table[col]["interaction"]]
            assert sum(parts) == pytest.approx(measured, abs=1e-9), (arch, col)
        assert isinstance(loc["pattern"]["shallow_encodes_deep_forgets"], bool)


@pytest.mark.slow
def test_mitigation_is_measured_against_both_references(lecture):
    _, results = lecture
    acc = results["mitigation"]["clean_test_acc"]
    assert {"clean reference", "skewed, no change"} <= set(acc) and len(acc) >= 4
    assert acc["clean reference"] > acc["skewed, no change"] + 0.2


@pytest.mark.slow
def test_widget_cell_renders_a_widget(lecture):
    nb, _ = lecture
    cell = next(c for c in nb.cells if "shortcut_demo()" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)
