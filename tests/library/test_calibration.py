"""labkit.calibration: ECE and its binning, temperature scaling, focal losses, scikit-learn
calibration of classical models, and clear errors for bad inputs."""
import numpy as np
import pytest
import torch

import labkit as lk
from labkit import calibration as cal


def direct_ece(conf, correct, n_bins):
    """ECE written out bin by bin with the (m-1)/M < c <= m/M rule."""
    conf, correct = np.asarray(conf, float), np.asarray(correct, float)
    total = 0.0
    for m in range(1, n_bins + 1):
        lo, hi = (m - 1) / n_bins, m / n_bins
        inside = (conf > lo) & (conf <= hi) if m > 1 else (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return total


def two_class(conf, correct):
    """Binary probabilities with the given top-label confidences (>= 0.5); label 0 when correct."""
    conf = np.asarray(conf, float)
    probs = np.stack([conf, 1 - conf], 1)
    return probs, np.where(np.asarray(correct, bool), 0, 1)


def test_ece_matches_a_direct_computation_on_small_cases():
    conf = [0.55, 0.6, 0.72, 0.9, 0.95, 0.99]
    correct = [1, 0, 1, 1, 0, 1]
    probs, y = two_class(conf, correct)
    for bins in (1, 2, 5, 10, 15):
        assert cal.ece(probs, y, n_bins=bins) == pytest.approx(direct_ece(conf, correct, bins), abs=1e-12)
    # by hand: (0.6, right) and (0.9, wrong) share the bin (0.5, 1] of 2 bins, but not with 5 bins
    probs, y = two_class([0.6, 0.9], [1, 0])
    assert cal.ece(probs, y, n_bins=2) == pytest.approx(abs(0.5 - 0.75))
    assert cal.ece(probs, y, n_bins=5) == pytest.approx(0.5 * 0.4 + 0.5 * 0.9)


def test_confidence_on_an_edge_and_exactly_one():
    # with 5 bins the edges are 0.2, 0.4, 0.6, 0.8, 1.0: 0.6 lies on an edge and belongs to bin 3
    # ((0.4, 0.6]), 1.0 to the last bin
    edges = cal.bin_edges(np.zeros(1), 5, "uniform")
    assert cal.assign_bins(np.array([0.6, 0.6000001, 1.0, 0.0, 0.8]), edges).tolist() == [2, 3, 4, 0, 3]
    probs = np.array([[0.6, 0.4, 0.0], [0.6, 0.0, 0.4], [1.0, 0.0, 0.0], [0.8, 0.2, 0.0]])
    y = np.array([0, 1, 0, 2])  # right, wrong, right, wrong
    rel = cal.reliability(probs, y, n_bins=5)
    assert rel.count.tolist() == [0, 0, 2, 1, 1]
    assert rel.accuracy[2] == 0.5 and rel.confidence[2] == pytest.approx(0.6)
    assert rel.accuracy[4] == 1.0 and rel.confidence[4] == 1.0
    assert rel.accuracy[3] == 0.0 and rel.confidence[3] == pytest.approx(0.8)
    assert cal.ece(probs, y, n_bins=5) == pytest.approx(0.5 * 0.1 + 0.25 * 0.8 + 0.25 * 0.0)
    assert cal.ece(probs, y, n_bins=5) == pytest.approx(direct_ece([0.6, 0.6, 1.0, 0.8], [1, 0, 1, 0], 5))


def test_ece_on_random_predictions_and_the_quantile_strategy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 4)) * 3
    probs = torch.tensor(logits).softmax(1).numpy()
    y = rng.integers(0, 4, 500)
    correct = probs.argmax(1) == y
    assert cal.ece(probs, y) == pytest.approx(direct_ece(probs.max(1), correct, 15), abs=1e-12)
    q = cal.reliability(probs, y, n_bins=10, strategy="quantile")
    assert q.count.sum() == 500 and q.count.min() >= 45 and q.count.max() <= 55  # equal mass
    assert 0 <= q.ece <= 1
    assert cal.ece(torch.tensor(probs), torch.tensor(y)) == pytest.approx(cal.ece(probs, y))  # tensors work


def test_classwise_ece_nll_and_brier_against_formulas():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    y = np.array([0, 2, 2])
    assert cal.nll(probs, y) == pytest.approx(-np.mean(np.log([0.7, 0.1, 0.4])))
    onehot = np.eye(3)[y]
    assert cal.brier_score(probs, y) == pytest.approx(np.mean(((probs - onehot) ** 2).sum(1)))
    expected = np.mean([direct_ece(probs[:, k], y == k, 15) for k in range(3)])
    assert cal.classwise_ece(probs, y) == pytest.approx(expected)
    # a perfect, confident model scores 0 everywhere
    eye = np.eye(3)
    assert cal.ece(eye, [0, 1, 2]) == 0 and cal.brier_score(eye, [0, 1, 2]) == 0 and cal.nll(eye, [0, 1, 2]) < 1e-9


def test_temperature_scaling_recovers_a_known_factor():
    sample = cal.calibrated_sample(20000, n_classes=5, concentration=0.5, seed=3)  # calibrated by construction
    p, y = sample.probs, sample.y
    assert list(sample.table().columns) == ["p0", "p1", "p2", "p3", "p4", "y"] and len(sample.table()) == 20000
    logits = np.log(p + 1e-12) * 3.0  # the same model, three times too sharp
    ts = cal.TemperatureScaling().fit(logits, y)
    assert ts.temperature_ == pytest.approx(3.0, rel=0.05)
    assert ts.nll_after_ < ts.nll_before_
    assert (ts.predict(logits) == logits.argmax(1)).all()  # the argmax never changes
    assert np.allclose(ts.predict_proba(logits).sum(1), 1)
    assert cal.ece(ts.predict_proba(logits), y) < 0.5 * cal.ece(torch.tensor(logits).softmax(1).numpy(), y)
    soft = cal.TemperatureScaling().fit(np.log(p + 1e-12) / 2.0, y)  # too soft: T < 1
    assert soft.temperature_ == pytest.approx(0.5, rel=0.05)
    assert ts.get_params() == {"log_t_min": -4.0, "log_t_max": 4.0}  # a scikit-learn estimator


def test_focal_loss_against_the_formula_and_flsd53_switches_at_0_2():
    torch.manual_seed(0)
    logits = torch.randn(64, 5) * 3
    y = torch.randint(0, 5, (64,))
    pt = logits.softmax(1)[torch.arange(64), y]
    for gamma in (0.0, 1.0, 3.0):
        expected = -((1 - pt) ** gamma) * torch.log(pt)
        assert torch.allclose(cal.focal_loss(gamma)(logits, y), expected, atol=1e-6)
    assert torch.allclose(cal.focal_loss(0.0)(logits, y), torch.nn.functional.cross_entropy(logits, y, reduction="none"),
                          atol=1e-6)
    loss = cal.flsd53()
    assert loss.gammas(torch.tensor([0.1, 0.1999, 0.2, 0.5, 0.99])).tolist() == [5.0, 5.0, 3.0, 3.0, 3.0]
    gamma = torch.where(pt < 0.2, 5.0, 3.0)
    assert torch.allclose(loss(logits, y), -((1 - pt) ** gamma) * torch.log(pt), atol=1e-6)
    # the two-logit case on each side of p_t = 0.2
    z_high = torch.tensor([[0.0, np.log(4.0) - 1e-2]])  # p_t just above 0.2: gamma 3
    p_high = 1 / (1 + 4 * np.exp(-1e-2))
    assert loss(z_high, torch.tensor([0]))[0] == pytest.approx(-((1 - p_high) ** 3) * np.log(p_high), rel=1e-4)
    z_low = torch.tensor([[0.0, np.log(4.0) + 1e-2]])  # just below: gamma 5
    p_low = 1 / (1 + 4 * np.exp(1e-2))
    assert loss(z_low, torch.tensor([0]))[0] == pytest.approx(-((1 - p_low) ** 5) * np.log(p_low), rel=1e-4)


def test_focal_losses_train_through_the_one_loop():
    data = lk.data.Data(torch.randn(120, 6), torch.randint(0, 3, (120,)))
    lk.seed_everything(0)
    model = lk.models.make_model("mlp", data, hidden=(16,))
    history = lk.fit(model, data, epochs=3, loss=cal.flsd53(), progress=False)
    assert history.steps > 0
    ens, _ = lk.fit_many(lambda: lk.models.make_model("mlp", data, hidden=(16,)), data, seeds=[0, 1], epochs=2,
                         loss=cal.focal_loss(2.0), progress=False)


def test_classical_models_calibrated_with_scikit_learn():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 5))
    y = (X[:, 0] + 0.7 * rng.normal(size=900) > 0).astype(int) + (X[:, 1] > 1).astype(int)
    forest = DecisionTreeClassifier(random_state=0).fit(X[:300], y[:300])  # probabilities 0 or 1
    before = forest.predict_proba(X[600:])
    for method in ("sigmoid", "isotonic"):
        calibrated = cal.calibrate_classical(forest, X[300:600], y[300:600], method)
        assert isinstance(calibrated, CalibratedClassifierCV)
        after = calibrated.predict_proba(X[600:])
        assert after.shape == before.shape and np.allclose(after.sum(1), 1)
        assert cal.brier_score(after, y[600:]) < cal.brier_score(before, y[600:])
    estimator, cv = cal.frozen(forest)
    assert cv is None and type(estimator).__name__ == "FrozenEstimator"  # scikit-learn >= 1.6 here
    display = cal.top_label_display(before, y[600:], n_bins=5)
    assert display.prob_pred.tolist() == [1.0]  # a tree is always sure of itself


def test_ece_of_a_calibrated_model_is_positive_and_shrinks_with_n():
    est = cal.ece_of_calibrated([100, 1000, 10000], n_bins=[5, 15], repeats=5)
    assert est.mean.shape == est.std.shape == (3, 2) and (est.mean > 0).all()
    assert est.mean[0, 1] > est.mean[1, 1] > est.mean[2, 1]  # 15 bins: 100 > 1000 > 10000 examples
    assert est.mean[1, 1] > est.mean[1, 0]  # 1000 examples: 15 bins > 5 bins
    table = est.table()
    assert list(table.columns) == ["n", "n_bins", "mean", "std"] and len(table) == 6
    row = table[(table.n == 1000) & (table.n_bins == 15)].iloc[0]
    assert row["mean"] == est.mean[1, 1] and row["std"] == est.std[1, 1]


def test_chess_forecasters():
    positions = cal.chess_positions(4000, seed=1)
    truth, outcome = positions.truth, positions.outcome
    f = cal.chess_models(truth, positions.is_drawish)
    table = positions.table()
    assert list(table.columns) == ["p_win", "p_draw", "p_loss", "outcome", "is_drawish"] and len(table) == 4000
    assert (table.outcome.to_numpy() == outcome).all()
    assert np.allclose(cal.expected_score(f["50/50"]), cal.expected_score(truth))
    assert cal.ece(f["top label only"], outcome) == pytest.approx(cal.ece(f["honest"], outcome))
    assert cal.classwise_ece(f["top label only"], outcome) > 5 * cal.classwise_ece(f["honest"], outcome)


def test_temperature_view_and_widget():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(300, 4)) * 4
    y = rng.integers(0, 4, 300)
    views = [cal.temperature_view(logits, y, t) for t in (0.5, 1.0, 4.0)]
    assert len({v.accuracy for v in views}) == 1
    assert views[2].nll < views[0].nll  # random logits: softer is better
    box = cal.temperature_widget(logits, y, fitted=2.0)
    assert box.view.temperature == 1.0 and box.children[-1].value[:4] == b"\x89PNG"
    box.children[0].children[0].value = 2.0
    assert box.view.temperature == pytest.approx(2.0)


@pytest.mark.parametrize("probs, y, message", [
    ([[0.5, 0.6], [0.5, 0.5]], [0, 1], "sum to 1"),
    ([[np.nan, 1.0], [0.5, 0.5]], [0, 1], "NaN"),
    ([[0.5, 0.5], [0.5, 0.5]], [0, 2], "label 2"),
    ([[0.5, 0.5], [0.5, 0.5]], [0, -1], "negative"),
    (np.zeros((0, 3)), [], "empty"),
    ([[2.0, -1.0]], [0], "logits"),
    ([0.2, 0.8], [1], "2-D"),
    ([[0.5, 0.5], [0.5, 0.5]], [0, 1, 1], "3 labels"),
])
def test_bad_inputs_give_clear_errors(probs, y, message):
    for fn in (cal.ece, cal.classwise_ece, cal.nll, cal.brier_score, cal.reliability):
        with pytest.raises((ValueError, TypeError), match=message):
            fn(probs, y)


def test_bad_options_and_logits():
    probs, y = np.eye(3), [0, 1, 2]
    with pytest.raises(ValueError, match="strategy"):
        cal.ece(probs, y, strategy="adaptive")
    with pytest.raises(ValueError, match=">= 1"):
        cal.ece(probs, y, n_bins=0)
    with pytest.raises(ValueError, match="NaN"):
        cal.TemperatureScaling().fit([[np.nan, 0.0]], [0])
    with pytest.raises(ValueError, match="label 3"):
        cal.TemperatureScaling().fit(np.zeros((2, 3)), [0, 3])
    with pytest.raises(RuntimeError, match="not fitted"):
        cal.TemperatureScaling().predict_proba(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="classes"):
        cal.TemperatureScaling().fit(np.zeros((2, 3)), [0, 1]).predict_proba(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="gamma"):
        cal.focal_loss(-1.0)
    with pytest.raises(ValueError, match="label 5"):
        cal.flsd53()(torch.zeros(2, 3), torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="method"):
        cal.calibrate_classical(object(), np.zeros((2, 2)), [0, 1], "beta")
    from sklearn.tree import DecisionTreeClassifier
    with pytest.raises(ValueError, match="not fitted"):
        cal.calibrate_classical(DecisionTreeClassifier(), np.zeros((2, 2)), [0, 1])


def test_report_per_seed_is_the_report_of_each_seed_with_both_binnings():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(3, 500))
    y = rng.integers(0, 4, 500)
    reports = cal.report_per_seed(torch.tensor(probs), y, [5, 6, 7])
    assert isinstance(reports, cal.CalibrationReports) and len(reports) == 3
    table = reports.table()
    assert list(table.index) == [5, 6, 7]
    for seed, p in zip([5, 6, 7], probs):
        row, direct = table.loc[seed], cal.calibration_report(p, y)
        assert row.ece == pytest.approx(direct["ece"]) and row.nll == pytest.approx(direct["nll"])
        assert row.ece_equal_mass == pytest.approx(cal.ece(p, y, 15, "quantile"))
        assert row.confidence == pytest.approx(p.max(1).mean())
    with pytest.raises(ValueError, match="one row of predictions per seed"):
        cal.report_per_seed(probs, y, [0, 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_agrees_with_torchmetrics(seed):
    """The field's implementation (torchmetrics' multiclass top-label calibration error, L1 norm,
    equal-width bins) gives the same number. Its bins are closed on the left and ours on the right,
    which matters only for a confidence exactly on an edge: random softmax outputs never are."""
    from torchmetrics.functional.classification import multiclass_calibration_error

    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(2000, 10, generator=g, dtype=torch.float64)
    probs = logits.softmax(1)
    y = torch.where(torch.rand(2000, generator=g) < 0.7, probs.argmax(1), torch.randint(0, 10, (2000,), generator=g))
    for bins in (5, 15, 50):
        theirs = multiclass_calibration_error(probs.float(), y, num_classes=10, n_bins=bins, norm="l1").item()
        assert cal.ece(probs.numpy(), y.numpy(), n_bins=bins) == pytest.approx(theirs, abs=1e-5), bins
