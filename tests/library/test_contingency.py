"""labkit.contingency: the table, its ratios, the tracker, the classical models, plots and widget."""
import dataclasses
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import labkit as lk  # noqa: E402
from labkit import contingency as ct  # noqa: E402
from labkit.results import Result  # noqa: E402

# ----------------------------------------------------------------------------------------------
# the table and its ratios, against tables computed by hand


def test_table_by_hand():
    #            0  1  2  3  4  5  6  7  8  9
    m = np.array([1, 1, 1, 1, 1, 0, 0, 0, 1, 0], bool)
    d = np.array([1, 1, 1, 0, 0, 1, 0, 0, 1, 1], bool)
    # D wrong & M wrong: 6, 7 -> 2; D wrong & M right: 3, 4 -> 2
    # D right & M wrong: 5, 9 -> 2; D right & M right: 0, 1, 2, 8 -> 4
    T = ct.contingency_table(m, d)
    assert T.tolist() == [[2, 2], [2, 4]]
    r = ct.rates(T)
    assert r.acc_m == pytest.approx(6 / 10) and r.acc_d == pytest.approx(6 / 10)
    assert r.r_plus == pytest.approx(4 / 6) and r.r_minus == pytest.approx(2 / 4)
    assert r.r_pm == pytest.approx((4 / 6) / (2 / 4))


def test_table_from_predictions_and_leading_axes():
    y = np.array([0, 1, 2, 2, 1])
    m_pred = np.array([0, 1, 0, 2, 0])      # right on 0, 1, 3
    d_pred = np.array([1, 1, 2, 0, 1])      # right on 1, 2, 4
    T = ct.table_from_predictions(y, m_pred, d_pred)
    # D wrong on 0 and 3, where M is right: T00 = 0, T01 = 2; D right on 2 and 4 (M wrong) and on 1 (M right)
    assert T.tolist() == [[0, 2], [2, 1]]
    d_many = np.stack([d_pred == y, np.ones(5, bool), np.zeros(5, bool)])
    Ts = ct.contingency_table(m_pred == y, d_many)
    assert Ts.shape == (3, 2, 2)
    assert Ts[1].tolist() == [[0, 0], [2, 3]] and Ts[2].tolist() == [[2, 3], [0, 0]]
    assert (Ts.sum((1, 2)) == 5).all()
    # torch tensors and 0/1 integers are accepted too
    assert ct.contingency_table(torch.tensor([1, 0, 1]), torch.tensor([True, True, False])).tolist() == [[0, 1], [1, 1]]


def test_empty_cells_and_empty_subsets():
    # M right on everything: R- is undefined (no M-incorrect examples), so is R+-
    r = ct.rates([[0, 3], [0, 7]])
    assert r.r_plus == pytest.approx(0.7) and math.isnan(r.r_minus) and math.isnan(r.r_pm)
    # M wrong on everything: R+ undefined
    r = ct.rates([[4, 0], [6, 0]])
    assert math.isnan(r.r_plus) and r.r_minus == pytest.approx(0.6) and math.isnan(r.r_pm)
    assert r.acc_m == 0 and r.acc_d == pytest.approx(0.6)
    # D never right where M is wrong, but sometimes where M is right: R+- is infinite
    r = ct.rates([[5, 2], [0, 3]])
    assert r.r_minus == 0 and r.r_plus == pytest.approx(0.6) and r.r_pm == math.inf
    # D never right at all: 0 / 0
    r = ct.rates([[5, 5], [0, 0]])
    assert r.r_plus == 0 and r.r_minus == 0 and math.isnan(r.r_pm)
    # vectorised: the same rules element by element
    many = ct.rates(np.array([[[0, 3], [0, 7]], [[2, 2], [2, 4]], [[5, 2], [0, 3]]]))
    assert np.isnan(many.r_pm[0]) and many.r_pm[1] == pytest.approx(4 / 3) and np.isinf(many.r_pm[2])


def test_ratio_is_one_when_d_is_independent_of_m():
    """Exact independence: D is right on the same fraction (30 %) of the M-right and the M-wrong examples."""
    rng = np.random.default_rng(0)
    m = np.zeros(1000, bool)
    m[rng.choice(1000, 600, replace=False)] = True
    d = np.zeros(1000, bool)
    for part in (np.flatnonzero(m), np.flatnonzero(~m)):
        d[rng.choice(part, int(0.3 * len(part)), replace=False)] = True
    r = ct.rates(ct.contingency_table(m, d))
    assert r.r_plus == pytest.approx(0.3) and r.r_minus == pytest.approx(0.3)
    assert r.r_pm == pytest.approx(1.0)
    # and a D that prefers M's examples is above 1, one that avoids them below
    d_pref = m.copy()
    assert ct.rates(ct.contingency_table(m, d_pref)).r_pm == math.inf
    d_pref[np.flatnonzero(~m)[:100]] = True
    assert ct.rates(ct.contingency_table(m, d_pref)).r_pm > 1
    assert ct.rates(ct.contingency_table(m, ~d_pref)).r_pm < 1


@pytest.mark.parametrize("bad, message", [
    (dict(m_correct=[0, 2, 1], d_correct=[1, 1, 1]), "booleans or 0/1"),
    (dict(m_correct=[1, 0, 1], d_correct=[1, 1]), "end with the 3 test examples"),
    (dict(m_correct=[[1, 0]], d_correct=[1, 0]), "vector"),
    (dict(m_correct=[], d_correct=[]), "empty"),
])
def test_table_input_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        ct.contingency_table(**bad)


def test_rates_input_errors():
    with pytest.raises(ValueError, match=r"\[2, 2\]"):
        ct.rates([1, 2, 3, 4])
    with pytest.raises(ValueError, match="non-negative"):
        ct.rates([[1, -1], [0, 0]])
    with pytest.raises(ValueError, match="no examples"):
        ct.rates([[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="same length"):
        ct.table_from_predictions([0, 1], [0, 1, 1], [0, 1])


# ----------------------------------------------------------------------------------------------
# the schedule and the tracker


def test_tracking_schedule():
    s = ct.tracking_schedule(1000, 50, n_sparse=20)
    assert s[0] == 0 and s[-1] == 1000 and np.all(np.diff(s) > 0)
    assert set(range(51)) <= set(s.tolist())
    later = s[s > 50]
    assert 10 <= len(later) <= 20
    gaps = np.diff(later)
    assert gaps[-1] > gaps[0]  # spaced out: log-spaced gaps grow
    assert ct.tracking_schedule(30, 100).tolist() == list(range(31))
    with pytest.raises(ValueError, match="total_steps"):
        ct.tracking_schedule(0, 5)


@pytest.fixture(scope="module")
def small():
    data = lk.data.load_digits()
    train, val, test = lk.data.train_val_test_split(data, val=0.1, test=0.3, seed=0)
    return train, val, test


def test_tracker_records_scheduled_steps_and_matches_evaluate(small):
    train, _, test = small
    rng = np.random.default_rng(1)
    m_correct = rng.random(len(test)) < 0.8
    lk.seed_everything(0)
    model = lk.models.MLP(train.input_shape, 10, hidden=(32,))
    initial = lk.evaluate(model, test).correct.numpy()
    tracker = ct.ContingencyTracker(test, {"coin": m_correct}, dense_steps=5, n_sparse=4)
    run = ct.track(model, train, tracker, epochs=3, batch_size=128)
    history = run.history
    assert run.model is model and isinstance(history, lk.training.History)
    expected = ct.tracking_schedule(history.steps, 5, 4)
    assert run.steps.tolist() == expected.tolist()
    assert run.d_correct.shape == (len(expected), 1, len(test)) and run.d_correct.dtype == bool
    assert np.array_equal(run.d_correct[0, 0], initial)
    assert np.array_equal(run.d_correct[-1, 0], lk.evaluate(model, test).correct.numpy())
    assert tracker.calls == len(expected) - 1 and run.tracking_seconds > 0
    assert run.steps_per_epoch == history.steps_per_epoch
    np.testing.assert_allclose(run.epochs, run.steps / history.steps_per_epoch)
    curves = run.curves("coin")
    frame = curves.table()
    assert isinstance(curves, Result) and len(frame) == len(expected)
    assert (frame[["T00", "T01", "T10", "T11"]].sum(axis=1) == len(test)).all()
    np.testing.assert_allclose(frame["acc_M"], m_correct.mean())
    np.testing.assert_allclose(frame["acc_D"], run.d_correct[:, 0].mean(1))
    assert run.counts("coin").tolist() == ct.contingency_table(m_correct, run.d_correct[-1, 0]).tolist()
    table = run.table()  # every recorded table of the run, one row per (M, seed, step)
    assert list(table.columns) == ["M", "seed", "step", "epoch", "T00", "T01", "T10", "T11", "acc_D"]
    assert len(table) == len(expected) and table.step.tolist() == run.steps.tolist()
    np.testing.assert_allclose(table[["T00", "T01", "T10", "T11"]], frame[["T00", "T01", "T10", "T11"]])
    np.testing.assert_allclose(table.acc_D, frame.acc_D)


def test_tracker_with_many_seeds_records_step_zero_of_each_seed(small):
    train, _, test = small
    m_correct = np.arange(len(test)) % 3 > 0

    def build():
        return lk.models.MLP(train.input_shape, 10, hidden=(16,))

    tracker = ct.ContingencyTracker(test, {"M": m_correct}, dense_steps=3, n_sparse=2)
    run = ct.track(build, train, tracker, seeds=[0, 1, 2], epochs=1, batch_size=256)
    ens = run.model
    assert isinstance(ens, lk.Ensemble) and run.history.steps == run.total_steps
    assert run.d_correct.shape[1:] == (3, len(test)) and run.n_seeds == 3
    for i, s in enumerate([0, 1, 2]):  # step 0 is each seed's own initial model
        lk.seed_everything(s)
        assert np.array_equal(run.d_correct[0, i], lk.evaluate(build(), test).correct.numpy())
    final = np.stack([e.correct.numpy() for e in ens.evaluate(test)])
    assert np.array_equal(run.d_correct[-1], final)
    # the curves use the mean table over seeds, so R+ is the mean of the seeds' R+
    per_seed = ct.rates(ct.contingency_table(m_correct, run.d_correct[-1]))
    c = run.curves("M")
    assert c.rates.r_plus[-1] == pytest.approx(per_seed.r_plus.mean())
    assert c.tables[-1].sum() == pytest.approx(len(test))
    table = run.table()  # seed by seed: each seed's counts at every recorded step
    assert len(table) == 3 * len(run.steps) and table.seed.tolist() == np.repeat([0, 1, 2], len(run.steps)).tolist()
    last = table[table.step == run.steps[-1]]
    assert last[["T00", "T01", "T10", "T11"]].to_numpy().reshape(3, 2, 2).tolist() == [
        run.counts("M", seed=k).tolist() for k in range(3)]


def _peaked_correctness(n_steps, peak_at, n=400):
    """D's correctness per step for a scripted run: D learns the first half (M right) quickly up to
    ``peak_at``, the second half (M wrong) only afterwards, so R+- peaks at ``peak_at``."""
    m = np.arange(n) < n // 2
    rows = []
    for step in range(n_steps + 1):
        easy = min(step / peak_at, 1.0) * 0.8
        hard = 0.05 + (0.75 * (step - peak_at) / (n_steps - peak_at) if step > peak_at else 0.0)
        rows.append(np.concatenate([np.arange(n // 2) < easy * n // 2, np.arange(n - n // 2) < hard * (n - n // 2)]))
    return m, np.array(rows)



def _drive(tracker, d_rows, steps_per_epoch):
    """Feed ``tracker`` the scripted correctness per step, as the training loop would call it."""
    import types
    n_steps = len(d_rows) - 1
    tracker._correct = lambda members: torch.as_tensor(d_rows[members.step])[None]  # [1 seed, N]
    for step in range(n_steps + 1):
        state = types.SimpleNamespace(step=step, steps_per_epoch=steps_per_epoch, total_steps=n_steps, stop=False,
                                      members=types.SimpleNamespace(step=step))
        (tracker.on_start if step == 0 else tracker.on_step)(state)
    return tracker.result()


def test_tracker_window_adapts_to_a_late_peak(small):
    _, _, test = small
    n = len(test)
    m, d_rows = _peaked_correctness(600, peak_at=80, n=n)
    fixed = _drive(ct.ContingencyTracker(test, {"M": m}, dense_steps=40, n_sparse=10), d_rows, 40)
    assert fixed.dense_steps == 40 and fixed.curves("M").summary()["peak_step"] != 80  # the fixed window misses it
    run = _drive(ct.ContingencyTracker(test, {"M": m}, dense_steps=40, n_sparse=10, past_peak=2), d_rows, 40)
    assert run.dense_steps == 160  # twice the step of the highest R+- so far
    assert run.steps[:161].tolist() == list(range(161)) and run.steps[-1] == 600
    later = run.steps[run.steps > 160]
    assert 5 <= len(later) <= 10 and np.all(np.diff(later) > 0)
    assert run.curves("M").summary()["peak_step"] == 80
    # an early peak keeps the minimum window
    m, d_rows = _peaked_correctness(600, peak_at=10, n=n)
    early = _drive(ct.ContingencyTracker(test, {"M": m}, dense_steps=40, n_sparse=10, past_peak=2), d_rows, 40)
    assert early.dense_steps == 40
    with pytest.raises(ValueError, match="past_peak"):
        ct.ContingencyTracker(test, {"M": m}, past_peak=0.5)


def test_curves_of_one_seed(small):
    train, _, test = small
    m_correct = np.arange(len(test)) % 3 > 0
    tracker = ct.ContingencyTracker(test, {"M": m_correct}, dense_steps=3, n_sparse=2)
    run = ct.track(lambda: lk.models.MLP(train.input_shape, 10, hidden=(16,)), train, tracker, seeds=[0, 1],
                   epochs=1, batch_size=256)
    for k in range(2):
        one = run.curves("M", seed=k)
        assert one.n_seeds == 1
        np.testing.assert_array_equal(one.tables, ct.contingency_table(m_correct, run.d_correct[:, k]))
    both = run.curves("M")
    np.testing.assert_allclose(both.tables, (run.curves("M", seed=0).tables + run.curves("M", seed=1).tables) / 2)
    with pytest.raises(ValueError, match="index of a seed"):
        run.curves("M", seed=2)


def test_tracker_errors(small):
    train, _, test = small
    with pytest.raises(ValueError, match="predictions but the test set"):
        ct.ContingencyTracker(test, {"M": np.ones(5, bool)})
    with pytest.raises(RuntimeError, match="nothing was recorded"):
        ct.ContingencyTracker(test).result()
    with pytest.raises(TypeError, match="labkit Data"):
        ct.ContingencyTracker(test.X)
    used = ct.ContingencyTracker(test, {"M": np.ones(len(test), bool)}, dense_steps=2, n_sparse=1)
    model = lk.models.MLP(train.input_shape, 10, hidden=(8,))
    ct.track(model, train, used, steps=3)
    with pytest.raises(RuntimeError, match="already recorded"):
        ct.track(model, train, used, steps=3)
    with pytest.raises(RuntimeError, match="already recorded"):
        lk.fit(model, train, steps=3, callbacks=[used])
    run = _fake_run()
    with pytest.raises(KeyError, match="no classical model"):
        run.curves("nope")
    with pytest.raises(ValueError, match="before the first"):
        run.index_of(-1)


def _fake_run():
    """A hand-made run: 4 examples, steps 0, 1, 2, 5, 10; M right on examples 0 and 1."""
    d = np.array([[0, 0, 0, 0],
                  [1, 0, 0, 0],
                  [1, 1, 0, 1],
                  [0, 1, 1, 1],
                  [1, 1, 1, 0]], bool)[:, None, :]
    return ct.ContingencyRun(steps=np.array([0, 1, 2, 5, 10]), steps_per_epoch=5, total_steps=10, dense_steps=2,
                             d_correct=d, m_correct={"M": np.array([1, 1, 0, 0], bool)}, classical={},
                             y=np.zeros(4, int))


def test_learned_step_cells_and_view():
    run = _fake_run()
    # example 0: right at 10, wrong at 5 -> learned at 10; 1: right from 2 on; 2: from 5; 3: wrong at the end
    assert run.learned_step().tolist() == [10, 2, 5, math.inf]
    assert run.index_of(4) == 2 and run.index_of(5) == 3 and run.index_of(100) == 4
    cells = run.cells("M", step=2)
    assert {k: v.tolist() for k, v in cells.items()} == {"00": [2], "01": [], "10": [3], "11": [0, 1]}
    view = ct.contingency_view(run, "M", step=3, per_cell=1)
    assert view.step == 2 and view.epoch == pytest.approx(0.4)
    assert view.counts.tolist() == [[1, 0], [1, 2]]
    assert len(view.examples["11"]) == 1 and view.examples["11"][0] in (0, 1)
    assert len(view.examples["01"]) == 0
    s = run.curves("M").summary()
    # R+- per step: 0: 0/0 nan, 1: (1/2)/0 inf, 2: 1/(1/2) = 2, 5: (1/2)/1 = 0.5, 10: 1/(1/2) = 2
    np.testing.assert_allclose(run.curves("M").rates.r_pm, [np.nan, np.inf, 2, 0.5, 2])
    assert s["peak"] == 2 and s["peak_step"] == 2 and s["final"] == 2 and s["t01_final"] == 0
    with pytest.raises(ValueError, match="seed index"):
        ct.contingency_view(run, "M", seed=1)



def test_the_run_table_and_the_easiness_table():
    run = _fake_run()
    table = run.table()
    assert len(table) == 5 and table.M.unique().tolist() == ["M"] and table.seed.tolist() == [0] * 5
    assert table[["T00", "T01", "T10", "T11"]].iloc[2].tolist() == run.counts("M", step=2).ravel().tolist()
    np.testing.assert_allclose(table.acc_D, run.d_correct[:, 0].mean(1))
    np.testing.assert_allclose(table.epoch, run.epochs)
    assert list(dataclasses.replace(run, m_correct={}).table().columns) == ["seed", "step", "epoch", "acc_D"]
    easy = ct.easiness_table(run, "M")
    assert isinstance(easy, ct.Easiness) and len(easy) == 4
    frame = easy.table()
    assert list(frame.columns) == ["m_correct", "learned_step"]  # no margin: this M is a boolean vector
    assert frame.learned_step.tolist() == [10, 2, 5, math.inf] and frame.m_correct.tolist() == [True, True, False, False]

def test_class_balanced_curves():
    # classes 0 and 1; M right on examples 0, 1 (class 0) and 3 (class 1), wrong on 2 (class 0) and 4, 5 (class 1)
    y = np.array([0, 0, 0, 1, 1, 1])
    m = np.array([1, 1, 0, 1, 0, 0], bool)
    d = np.array([[1, 1, 1, 0, 0, 0],    # "always class 0": plain R+- = (2/3)/(1/3) = 2, balanced exactly 1
                  [1, 0, 0, 1, 1, 0]], bool)[:, None, :]
    run = ct.ContingencyRun(steps=np.array([0, 1]), steps_per_epoch=1, total_steps=1, dense_steps=1, d_correct=d,
                            m_correct={"M": m}, classical={}, y=y)
    plain, bal = run.curves("M"), run.curves("M", balanced=True)
    assert plain.rates.r_pm[0] == pytest.approx(2.0) and bal.rates.r_pm[0] == pytest.approx(1.0)
    # step 1: class 0: R+ = 1/2, R- = 0/1; class 1: R+ = 1/1, R- = 1/2 -> means 3/4 and 1/4
    assert bal.rates.r_plus[1] == pytest.approx(0.75) and bal.rates.r_minus[1] == pytest.approx(0.25)
    assert bal.rates.r_pm[1] == pytest.approx(3.0)
    assert bal.rates.acc_m[0] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert np.array_equal(bal.tables, plain.tables) and "class-balanced" in bal.m_name
    # a class with an empty M-incorrect subset is left out of R- (not counted as 0)
    m2 = np.array([1, 1, 1, 1, 0, 0], bool)
    run.m_correct["all class 0 right"] = m2
    b2 = run.curves("all class 0 right", balanced=True)
    assert b2.rates.r_minus[1] == pytest.approx(1 / 2)


def test_alternative_shapes():
    run = _fake_run()
    d = run.d_correct.copy()
    d[0, 0] = [1, 0, 1, 0]  # start with R+- = 1
    run.d_correct = d
    c = run.curves("M")
    alt = ct.alternative_shapes(c)
    assert (alt["flat at 1"] == 1).all()
    rise = alt["steady rise"]
    assert rise[0] == pytest.approx(c.rates.r_pm[0]) and rise[-1] == pytest.approx(c.rates.r_pm[-1])
    assert np.all(np.diff(rise) >= -1e-12) or np.all(np.diff(rise) <= 1e-12)  # monotone, no peak


def test_constant_guess_ratios():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    m = np.array([1, 1, 0, 1, 0, 1, 1, 1], bool)  # M right on 6: class shares 2/6, 1/6, 3/6; wrong on 2: 1/2, 1/2, 0
    np.testing.assert_allclose(ct.constant_guess_ratios(m, y), [(2 / 6) / (1 / 2), (1 / 6) / (1 / 2), np.inf])
    assert ct.constant_guess_ratios(m, y, n_classes=4).shape == (4,)  # a class never seen: 0/0
    with pytest.raises(ValueError, match="same length"):
        ct.constant_guess_ratios(m, y[:-1])


# ----------------------------------------------------------------------------------------------
# the classical models


def test_fit_classical_svm_forest_and_estimator(small, tmp_path):
    train, val, test = small
    svm = lk.probes.fit_classical("svm", train, test)
    assert svm.name == "SVM" and svm.accuracy > 0.95 and not svm.cached
    assert svm.correct.dtype == bool and svm.correct.shape == (len(test),)
    assert np.array_equal(svm.correct, svm.pred == test.y.numpy())
    assert np.array_equal(svm.margin > 0, svm.correct)  # the true class wins exactly where M is right
    forest = lk.probes.fit_classical("forest", train, test, val)
    assert forest.accuracy > 0.85 and 10 <= forest.details["trees"] <= 300
    assert forest.estimator.n_estimators == forest.details["trees"] == len(forest.estimator.estimators_)
    from sklearn.linear_model import LogisticRegression

    lr = lk.probes.fit_classical(LogisticRegression(max_iter=200), train, test, max_train=300)
    assert lr.name == "LogisticRegression" and lr.n_train == 300 and lr.accuracy > 0.8
    assert "wrong on" in repr(lr)
    # the cache: the second call loads the same predictions without fitting
    first = lk.probes.fit_classical("svm", train, test, cache_dir=tmp_path)
    again = lk.probes.fit_classical("svm", train, test, cache_dir=tmp_path)
    assert again.cached and again.estimator is None and again.seconds == 0
    assert np.array_equal(first.pred, again.pred) and np.allclose(first.margin, again.margin)
    other = lk.probes.fit_classical("svm", train, test, cache_dir=tmp_path, max_train=500)
    assert not other.cached and len(list(tmp_path.iterdir())) == 2


def test_fit_classical_errors(small):
    train, _, test = small
    with pytest.raises(ValueError, match="unknown classical model"):
        lk.probes.fit_classical("knn", train, test)
    with pytest.raises(TypeError, match="scikit-learn classifier"):
        lk.probes.fit_classical(object(), train, test)
    with pytest.raises(TypeError, match="labkit Data"):
        lk.probes.fit_classical("svm", train.X, test)


def test_shifted_digits():
    digits = lk.data.load_digits()
    shifted = lk.data.shift_digits(digits.subset(np.arange(20)), canvas=12, copies=2, seed=0)
    assert shifted.X.shape == (40, 1, 12, 12) and shifted.y.tolist() == digits.y[:20].tolist() * 2
    for i in (0, 25, 39):
        r, c = shifted.meta["offset"][i].tolist()
        src = int(shifted.meta["source"][i])
        assert torch.equal(shifted.X[i, :, r:r + 8, c:c + 8], digits.X[src])
        assert shifted.X[i].sum() == pytest.approx(float(digits.X[src].sum()))  # nothing else drawn
    tr, va, te = lk.data.shifted_digits(train_copies=2, test=0.4, val=0.1)
    assert len(te) == round(0.4 * 1797) and len(tr) == 2 * (1797 - len(te) - len(va))
    with pytest.raises(TypeError, match="images"):
        lk.data.shift_digits(lk.data.make_moons(20))


# ----------------------------------------------------------------------------------------------
# plots and the widget


def test_plots_and_widget(small):
    run = _fake_run()
    c = run.curves("M")
    ax = ct.plot_ratio({"D1": c, "D2": c})
    labels = [line.get_label() for line in ax.get_lines()]
    assert "D1" in labels and any("flat at 1" in lab for lab in labels) and any("steady rise" in lab for lab in labels)
    ax = ct.plot_rates(c)
    assert any("R+" in line.get_label() for line in ax.get_lines())
    images = torch.rand(4, 1, 8, 8)
    fig = ct.show_cells(images, run, "M", step=10, per_cell=2)
    assert "T11 = 2" in " ".join(sf._suptitle.get_text() for sf in fig.subfigs)
    ax = ct.plot_schedule({"run A": run})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["run A"]
    assert any("R± peak" in line.get_label() for line in ax.get_lines())
    with pytest.raises(ValueError, match="no runs"):
        ct.plot_schedule({})
    plt.close("all")

    run2 = _fake_run()
    run2.m_correct = {"M": np.array([1, 1, 0, 0], bool), "other": np.array([0, 1, 0, 1], bool)}
    widget = ct.contingency_widget({"A": run, "B": run2}, images)
    d_box, m_box = widget.children[0].children
    step_box = widget.children[1]
    assert step_box.value == 10 and list(m_box.options) == ["M"] and widget.view.step == 10
    d_box.value = "B"
    assert list(m_box.options) == ["M", "other"]
    step_box.value = 2  # redraws without error
    m_box.value = "other"
    assert widget.view.m_name == "other" and widget.view.step == 2
    assert widget.view.counts.tolist() == run2.counts("other", step=2).tolist()
    plt.close("all")
    with pytest.raises(ValueError, match="runs is empty"):
        ct.contingency_widget({}, images)


def test_real_splits_on_files_in_the_real_format(tmp_path):
    import struct

    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    written = {}
    for prefix, n in (("train", 40), ("t10k", 7)):  # the IDX format MNIST ships in
        for kind, array in (("images-idx3", rng.integers(0, 256, (n, 28, 28))), ("labels-idx1", np.arange(n) % 10)):
            header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
            (raw / f"{prefix}-{kind}-ubyte").write_bytes(header + array.astype(np.uint8).tobytes())
        written[prefix] = (None, np.arange(n) % 10)
    train, val, test = lk.data.real_splits("mnist", val=10, root=tmp_path, download=False)
    assert len(train) == 30 and len(val) == 10 and len(test) == 7
    assert train.X.shape[1:] == (1, 28, 28)
    assert sorted(train.y.tolist() + val.y.tolist()) == sorted(written["train"][1].tolist())
    assert np.array_equal(test.y.numpy(), written["t10k"][1])
    with pytest.raises(ValueError, match="nothing to train on"):
        lk.data.real_splits("mnist", val=40, root=tmp_path, download=False)


def test_real_splits_offline_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="LABKIT_SCALE=class"):
        lk.data.real_splits("cifar10", root=tmp_path / "empty", download=False)
