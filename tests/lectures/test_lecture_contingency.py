"""Lecture L3 runs top to bottom at the smoke scale and shows what its text claims there."""
import math
from pathlib import Path

import pytest

from notebook_runner import assert_ran_cleanly, run_notebook

LECTURE = Path(__file__).resolve().parents[2] / "lectures" / "L3_contingency.ipynb"


@pytest.fixture(scope="module")
def lecture():
    # one thread: these models are small, and on a shared 2-core machine two threads that compete with
    # other processes are several times slower; the numbers are the same either way on the CPU
    nb, values = run_notebook(LECTURE, {"results": "results"}, scale="smoke", env={"OMP_NUM_THREADS": "1"})
    return nb, values["results"]


@pytest.mark.slow
def test_runs_at_smoke_scale_and_prints_setup(lecture):
    nb, results = lecture
    assert results["scale"] == "smoke"
    assert_ran_cleanly(nb)
    assert results["seconds"] < 180  # the budget is 60 s on a 2-core CPU; this only catches a blow-up


@pytest.mark.slow
def test_m_incorrect_sets_are_large_enough(lecture):
    _, results = lecture
    assert results["plain_digits_m_wrong"] < 30  # why plain digits would not do
    assert len(results["m"]) == 2
    for name, m in results["m"].items():
        assert m["wrong"] >= 100, name
        assert 0.3 < m["accuracy"] < 0.95, name


@pytest.mark.slow
def test_the_ratio_has_the_right_skewed_shape_for_every_triple(lecture):
    _, results = lecture
    triples = results["triples"]
    assert {(t["D"], t["M"]) for t in triples} == {("MLP", "SVM"), ("MLP", "RF"), ("CNN", "SVM"), ("CNN", "RF")}
    for t in triples:
        label = f"{t['D']} vs {t['M']}: {t}"
        assert 0.5 <= t["start"] <= 2, label                      # starts near 1
        assert t["peak_step"] < t["final_step"], label             # the maximum comes before the end
        assert t["peak"] > t["final"], label                       # ... and is above the final value
        assert t["final"] > 1, label                               # which stays above 1
        assert t["peak"] > 1.5 * t["start"], label                 # a real rise, not a flat line
        assert t["starts near 1"] and t["peak before the end, above final"] and t["final above 1"]
        # the class-balanced check: starts at 1 up to noise, rises, and ends above 1
        assert abs(t["balanced start"] - 1) < 0.15, label
        assert t["balanced peak"] > 1.3 and t["balanced final"] > 1, label


@pytest.mark.slow
def test_cnn_peaks_earlier_and_its_raw_spike_is_partly_class_bias(lecture):
    _, results = lecture
    by = {(t["D"], t["M"]): t for t in results["triples"]}
    for m in ("SVM", "RF"):
        cnn, mlp = by["CNN", m], by["MLP", m]
        assert cnn["peak_step"] < mlp["peak_step"] and cnn["peak_epoch"] < mlp["peak_epoch"], m
        assert cnn["balanced peak"] < cnn["peak"] and cnn["balanced peak_step"] > cnn["peak_step"], m


@pytest.mark.slow
def test_rplus_runs_ahead_and_t01_stays(lecture):
    _, results = lecture
    for g in results["rplus_gaps"]:
        assert 1 < g["R+ / acc(D)"] < g["ceiling 1/acc(M)"], g        # above acc(D) at the peak, below the ceiling
        assert g["at step"] > g["R± peak step"], g                     # the absolute gap is largest later
    assert all(v > 0 for v in results["t01_final"].values())


@pytest.mark.slow
def test_shallow_learnability_predicts_learning_time_on_average(lecture):
    _, results = lecture
    for row in results["easiness"]:
        assert row["median learned step, M right"] < row["median learned step, M wrong"], row
        assert row["Spearman(M margin, learned step)"] < 0, row
    for ds, agree in results["svm_rf_agreement"].items():
        assert 0.5 < agree < 0.97, ds


@pytest.mark.slow
def test_tracking_costs_are_reported(lecture):
    _, results = lecture
    for cost in results["costs"]:
        assert cost["recorded"] < cost["steps"] + 1 and cost["tracking s"] > 0
        assert math.isfinite(cost["overhead %"])
