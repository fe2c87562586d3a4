"""labkit.checks: the helpers every exercise's test cells use."""
import json
import math

import numpy as np
import pytest
import torch

from labkit import checks


@pytest.fixture
def records(monkeypatch):
    """Collect the records the checks would publish to the grader."""
    out = []
    monkeypatch.setattr(checks, "_emit", lambda record: out.append(json.loads(json.dumps(record))))
    return out


def test_visible_check_prints_expected_and_got(capsys, records):
    checks.expect_close(np.array([0.5, 1.0]), [0.5, 1.0], what="per class")
    assert "per class: expected [0.5, 1.0] and got [0.5, 1.0]" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed) as err:
        checks.expect_close(torch.tensor([0.5, 0.25]), [0.5, 1.0], what="per class")
    assert "expected [0.5, 1.0]" in str(err.value) and "your answer gave [0.5, 0.25]" in str(err.value)
    assert [r["got"] for r in records] == [[0.5, 1.0], [0.5, 0.25]]


def test_shape_mismatch_is_explained():
    with pytest.raises(checks.CheckFailed, match="a list of 1 instead of a list of 2"):
        checks.expect_close([0.5], [0.5, 1.0], what="x")


def test_hidden_check_records_without_judging(capsys, records):
    checks.expect_close([1.0, float("nan")], what="hidden case")
    assert "answer recorded" in capsys.readouterr().out
    assert records[0]["kind"] == "close" and math.isnan(records[0]["got"][1])
    assert records[0]["rtol"] == 1e-5


@pytest.mark.parametrize("cheat", [
    type("AlwaysEqual", (), {"__eq__": lambda s, o: True, "__ne__": lambda s, o: False})(),
    lambda: 0,
    {1, 2},
])
def test_objects_that_are_not_data_never_pass(cheat, records):
    with pytest.raises(checks.CheckFailed, match="should be a number"):
        checks.expect_equal(cheat, 3, what="x")
    assert records == []


def test_nan_matches_only_nan():
    checks.expect_close([np.nan, 1.0], [float("nan"), 1.0 + 1e-9], what="x")
    with pytest.raises(checks.CheckFailed):
        checks.expect_close([0.0], [np.nan], what="x")
    with pytest.raises(checks.CheckFailed):
        checks.expect_close([np.nan], [0.0], what="x")


def test_equal_distinguishes_strings_and_numbers():
    checks.expect_equal((1, 2), [1, 2], what="tuple as list")
    checks.expect_equal(np.int64(3), 3, what="numpy int")
    with pytest.raises(checks.CheckFailed):
        checks.expect_equal("3", 3, what="x")


def test_between_and_expect(records):
    checks.expect_between(0.9, low=0.8, what="acc")
    with pytest.raises(checks.CheckFailed, match="at least 0.8, but it is 0.5"):
        checks.expect_between(0.5, low=0.8, what="acc")
    with pytest.raises(checks.CheckFailed):
        checks.expect_between(float("nan"), low=0.0, what="acc")
    checks.expect(np.bool_(True), "numpy True counts")
    with pytest.raises(checks.CheckFailed):
        checks.expect(1, "truthy is not enough")
    assert [r["kind"] for r in records] == ["between", "between", "between", "true", "true"]
    assert records[-1]["got"] is False


def test_checks_ignore_patched_numpy_and_math(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(math, "isclose", lambda *a, **k: True)
    monkeypatch.setattr("builtins.abs", lambda x: 0)
    with pytest.raises(checks.CheckFailed):
        checks.expect_close([1.0], [2.0], what="x")


def test_random_labels_are_deterministic():
    y1, p1 = checks.random_labels(50, 4, seed=3)
    y2, p2 = checks.random_labels(50, 4, seed=3)
    assert (y1 == y2).all() and (p1 == p2).all() and set(y1) <= {0, 1, 2, 3}
    y3, _ = checks.random_labels(50, 4, seed=4)
    assert (y1 != y3).any()
    assert 0.4 < (y1 == p1).mean() < 0.95


def test_judge_takes_everything_but_the_answer_from_the_reference():
    ref = {"version": 1, "kind": "close", "what": "w", "got": [0.5, 1.0], "rtol": 1e-5, "atol": 1e-8}
    assert checks.judge(dict(ref, got=[0.5, 1.0 + 1e-9]), ref) is None
    assert "reference solution gives [0.5, 1.0]" in checks.judge(dict(ref, got=[0.5, 0.9]), ref)
    # a record cannot loosen its own tolerance or change what is checked
    assert checks.judge(dict(ref, got=[0.5, 0.9], rtol=1.0), ref) is not None
    assert checks.judge(dict(ref, what="something else"), ref) is not None
    assert checks.judge(dict(ref, kind="true", got=True), ref) is not None
    assert checks.judge(None, ref) is not None
    between = {"kind": "between", "what": "acc", "got": 0.9, "low": 0.8, "high": None}
    assert checks.judge(dict(between, got=0.85, low=0.0), between) is None
    assert checks.judge(dict(between, got=0.5, low=0.0), between) is not None
    assert checks.judge(dict(between, got=True), between) is not None
    assert checks.judge(dict(between, got=float("nan")), between) is not None
    truth = {"kind": "true", "what": "t", "got": True}
    assert checks.judge(dict(truth, got=1), truth) is not None
    equal = {"kind": "equal", "what": "n", "got": [270, 270, 1257]}
    assert checks.judge(dict(equal, got=[270, 270, 1257.0]), equal) is None
    assert checks.judge(dict(equal, got="[270, 270, 1257]"), equal) is not None


# ----------------------------------------------------------------------------------------------
# own_work: the course's own implementation cannot earn a part that asks for the student's


@pytest.fixture
def guard():
    yield checks.own_work
    checks.own_work()  # end whatever guard a test left on


def test_own_work_stops_labkit_however_it_is_reached(guard, records):
    from labkit import calibration
    from labkit.calibration import ece as renamed

    probs, y = np.array([[0.6, 0.4], [0.1, 0.9]]), np.array([0, 0])
    checks.expect_close(renamed(probs, y, n_bins=5), 0.65, what="without the guard")  # positive control
    answer = lambda p, t, n_bins=15: renamed(p, t, n_bins=n_bins)  # noqa: E731  (an answer cell's wrapper)
    guard("labkit.calibration.ece")
    with pytest.raises(checks.OwnWorkRequired, match="your own implementation.*labkit.calibration.ece"):
        answer(probs, y, n_bins=5)
    with pytest.raises(checks.OwnWorkRequired):  # swallowing the error does not help: every check fails now
        checks.expect_close(0.65, 0.65, what="after a forbidden call")
    guard()
    checks.expect_close(calibration.ece(probs, y, n_bins=5), 0.65, what="the guard ended")


def test_own_work_stops_numpy_and_torch_routines_captured_before(guard, records):
    from numpy.linalg import pinv

    F = np.array([[1.0, 0.0], [0.0, 2.0]])
    guard("numpy.linalg.pinv", "numpy.linalg.lstsq", "torch.linalg.pinv")
    with pytest.raises(checks.OwnWorkRequired, match="numpy.linalg.pinv"):
        pinv(F)
    guard("numpy.linalg.pinv", "torch.linalg.pinv")
    with pytest.raises(checks.OwnWorkRequired, match="torch.linalg.pinv"):
        torch.linalg.pinv(torch.eye(2))
    guard("numpy.linalg.pinv")
    u, s, vh = np.linalg.svd(F)  # what the part asks for still works
    checks.expect_close(vh.T @ np.diag(1 / s) @ u.T, [[1.0, 0.0], [0.0, 0.5]], what="an SVD answer")


def test_own_work_covers_every_method_of_a_class(guard, records):
    from labkit.calibration import TemperatureScaling

    z, y = np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0, 1])
    guard("labkit.calibration.TemperatureScaling")
    with pytest.raises(checks.OwnWorkRequired, match="TemperatureScaling"):
        TemperatureScaling().fit(z, y)


def test_own_work_cannot_be_switched_off_quietly(guard, records):
    import sys

    guard("labkit.calibration.ece")
    sys.setprofile(None)
    with pytest.raises(checks.OwnWorkRequired, match="switched off"):
        checks.expect_equal(1, 1, what="x")


def test_own_work_names_must_exist(guard):
    with pytest.raises(ValueError, match="names nothing importable"):
        guard("labkit.no_such_module.thing")


def test_warnings_become_notes_on_stdout():
    """In a fresh interpreter (pytest replaces the warning display in its own): importing the checks
    sends every warning to standard output as a note, so nbgrader does not score it as a failure."""
    import subprocess
    import sys

    code = ("import warnings, numpy as np\nfrom labkit import checks\nnp.mean(np.array([]))\n"
            "warnings.warn('from an answer', UserWarning)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "note: RuntimeWarning: Mean of empty slice" in out.stdout
    assert "note: UserWarning: from an answer" in out.stdout and out.stderr == ""
