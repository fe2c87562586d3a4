"""Lecture L6 runs top to bottom at the class scale and shows what its text claims there."""
from pathlib import Path

import pytest

from notebook_runner import assert_ran_at_class_scale, run_lecture

LECTURE = Path(__file__).resolve().parents[2] / "lectures" / "L6_capacity.ipynb"
N = 500  # training examples of the random-feature models


@pytest.fixture(scope="module")
def lecture():
    return run_lecture(LECTURE)


@pytest.mark.slow
def test_runs_at_class_scale_within_budget(lecture):
    nb, results = lecture
    assert_ran_at_class_scale(nb, results)
    assert results["seconds"] < 240  # the budget is 2 min on a 2-core CPU; this only catches a blow-up


@pytest.mark.slow
def test_the_peak_sits_at_the_threshold_and_rises_above_both_sides(lecture):
    _, r = lecture
    p = r["rf_plain"]
    assert 0.8 * N <= p["peak_size"] <= 1.2 * N          # "peaks at N = n" (the grid has 450, 500, 550)
    assert p["peak"] > p["left_min"] + 0.08 and p["peak"] > p["right_min"] + 0.08
    assert p["train_error_from_n"] == 0.0 and p["train_error_below"] > 0.3  # zero training error from N = n on
    curve = {int(k): v for k, v in p["curve"].items()}
    assert curve[max(curve)] < p["left_min"]            # "the second descent reaches a little below the first minimum"
    assert curve[max(curve)] > 0.5                      # "the test error stays high in absolute terms"


@pytest.mark.slow
def test_label_noise_raises_the_sides_and_keeps_the_peak_at_n(lecture):
    _, r = lecture
    clean, noisy = r["rf_plain"], r["rf_noisy"]
    assert 0.8 * N <= noisy["peak_size"] <= 1.2 * N
    assert noisy["left_min"] > clean["left_min"] + 0.01 and noisy["right_min"] > clean["right_min"] + 0.02
    assert noisy["height"] < clean["height"]            # "the peak stands out less" here (not sharper)
    assert noisy["peak"] < clean["peak"] + 0.03 and clean["peak"] > 0.8  # already near the 0.9 of guessing


@pytest.mark.slow
def test_ridge_removes_the_peak(lecture):
    _, r = lecture
    ridge, clean = r["rf_ridge"], r["rf_plain"]
    assert ridge["at_threshold"] < ridge["left_min"] + 0.02  # about as low as the best small model: no peak
    assert ridge["at_threshold"] < clean["at_threshold"] - 0.1
    assert not 0.5 * N <= ridge["peak_size"] <= 2 * N


@pytest.mark.slow
def test_more_data_hurts_near_n_equal_to_n_features(lecture):
    _, r = lecture
    s = {int(k): v for k, v in r["samplewise"].items()}
    assert max(s, key=s.get) == N
    assert s[N] > s[200] + 0.05 and s[N] > s[300] + 0.05  # more data, worse, near the threshold
    assert s[2000] < s[200] - 0.05                        # far from it more data help


@pytest.mark.slow
def test_width_sweep_shows_no_harm_from_width_and_no_second_peak(lecture):
    _, r = lecture
    w = r["width"]
    train, test = w["train_error"], w["test_error"]
    assert train[-1] < 0.01 and min(train[:-1]) > 0.05    # only the widest fits every noisy label
    assert test[-1] <= min(test) + 1e-9                   # the widest is the best
    assert all(b < a + 0.02 for a, b in zip(test, test[1:]))  # no second peak


@pytest.mark.slow
def test_intrinsic_dimension_is_small_and_explodes_with_shuffled_labels(lecture):
    _, r = lecture
    i = r["intrinsic"]
    fc = i["FC digits"]
    assert fc["d_int90"] is not None and fc["d_int90"] <= fc["D"] / 10   # "a few hundred dimensions or fewer"
    assert fc["full"] > 0.85
    real, shuffled = i["FC, 300 digits, real labels (train)"], i["FC, 300 digits, shuffled labels (train)"]
    assert real["full"] > 0.95 and shuffled["full"] > 0.9   # the full network fits (memorises) both
    assert shuffled["d_int90"] is not None and real["d_int90"] is not None
    assert shuffled["d_int90"] >= 8 * real["d_int90"]     # "many times larger"
    for s in i.values():                                   # accuracy grows with d (within noise)
        assert s["accuracy"][-1] > s["accuracy"][0] + 0.2
    assert fc["seconds"] < 60
    signals = i["FC MNIST-1D"]                             # the harder task needs a larger subspace
    assert signals["full"] < fc["full"] - 0.2
    assert (signals["d_int90"] or 2 * max(signals["dims"])) >= 4 * fc["d_int90"]


@pytest.mark.slow
def test_mimo_costs_one_pass_trails_one_network_by_less_when_wider(lecture):
    _, r = lecture
    m = r["mimo"]
    widths = sorted({int(k.split("/")[0]) for k in m})
    gaps = []
    for w in widths:
        one, ens, mimo = m[f"{w}/one network"], m[f"{w}/ensemble of 3"], m[f"{w}/MIMO M = 3"]
        assert mimo["passes"] == one["passes"] == 1 and ens["passes"] == 3
        assert one["params"] < mimo["params"] < ens["params"]
        assert mimo["disagreement"] > ens["disagreement"]  # the heads are different subnetworks
        assert mimo["accuracy"] < one["accuracy"]          # "it does not match one network"
        assert mimo["nll"] > one["nll"]
        assert mimo["member_accuracy"] < one["accuracy"]   # "each head is weaker than a network of its own"
        assert abs(ens["accuracy"] - one["accuracy"]) < 0.02  # "hardly better than one network"
        gaps.append(one["accuracy"] - mimo["accuracy"])
    assert gaps[-1] < gaps[0] - 0.02                        # "the gap shrinks as the network gets wider"


@pytest.mark.slow
def test_layer_table_orders(lecture):
    _, r = lecture
    fc, cnn = r["layers"]["FC digits"], r["layers"]["CNN MNIST-1D"]
    for net in (fc, cnn):
        for row in net["table"].values():
            assert row["re-randomise"] < row["re-init"] - 0.05     # re-randomising is worse
            assert row["re-randomise"] < net["chance"] + 0.15      # and destroys the network
    drop = {k: fc["trained"] - v["re-init"] for k, v in fc["table"].items()}
    assert drop["fc1"] > 0.1 and drop["fc1"] > 3 * max(drop["fc3"], drop["head"])  # first layer critical
    assert drop["fc3"] < 0.05 and drop["head"] < 0.05                              # last layers robust
    cnn_drop = {k: cnn["trained"] - v["re-init"] for k, v in cnn["table"].items()}
    assert min(cnn_drop.values()) > 0.2                                            # every CNN block critical
    critical = lambda d: sum(v > 0.1 for v in d.values())  # noqa: E731
    assert critical(cnn_drop) > critical(drop)


@pytest.mark.slow
def test_widget_shows_the_peak_and_its_removal(lecture):
    _, r = lecture
    w = r["widget"]
    plain, ridge = w["noise 0.0, ridge 0.0"], w["noise 0.0, ridge 10.0"]
    assert plain["peak_size"] == N and plain["height"] > 0.08
    assert ridge["at_threshold"] < ridge["left_min"] + 0.02
