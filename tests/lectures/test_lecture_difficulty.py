"""Lecture L2 runs top to bottom at the class scale, the scale its text describes, and every claim
of the text holds there. Each test compares conditions (with margins), orders or bounds, so it fails
if the phenomenon it names disappears."""
from pathlib import Path

import nbformat
import pytest

from notebook_runner import assert_ran_at_class_scale, run_lecture

NOTEBOOK = Path(__file__).resolve().parents[2] / "lectures" / "L2_difficulty.ipynb"
SCORES = ("loss", "margin", "el2n", "grand", "forgetting", "vog", "depth")
LABEL_FIT = ("loss", "margin", "el2n", "grand", "forgetting")  # the scores that look at the given label
BLOCK = ("loss", "margin", "el2n", "grand")


@pytest.fixture(scope="module")
def lecture():
    return run_lecture(NOTEBOOK)


def test_defines_every_score_and_cites_its_sources():
    sources = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells]
    assert any("dif.browse(" in s for s in sources)
    for arxiv in ("1911.00068", "2103.14749", "2107.07075", "1812.05159", "2008.11600", "2106.09647", "2401.01867",
                  "2011.14439"):
        assert arxiv in sources[-1], arxiv
    text = "\n".join(sources)
    for name in ("EL2N", "GraNd", "forgetting", "VoG", "prediction depth", "margin", "standard deviation"):
        assert name in text


@pytest.mark.slow
def test_runs_cleanly_at_class_scale_within_budget(lecture):
    nb, results = lecture
    assert_ran_at_class_scale(nb, results)
    assert results["seconds"]["total"] < 240  # the budget is 2 min on a quiet 2-core CPU; this catches a blow-up
    cell = next(c for c in nb.cells if "dif.browse(" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)


@pytest.mark.slow
def test_out_of_sample_probabilities_find_most_flips_with_few_false_alarms(lecture):
    le = lecture[1]["label_errors"]
    assert le["precision"] >= 0.85   # "most suspects are real flips" (chance: the noise rate, 0.1)
    assert le["recall"] >= 0.6       # "most flips are found"
    assert le["auroc_self_confidence"] >= 0.98


@pytest.mark.slow
def test_label_fitting_scores_single_out_flips_and_vog_depth_do_not_on_digits(lecture):
    auroc = lecture[1]["auroc"]
    assert set(auroc) == set(SCORES)
    for s in LABEL_FIT:
        assert auroc[s]["averaged"] >= 0.95, s                       # "near the top", "almost perfectly"
        assert auroc[s]["averaged"] >= auroc[s]["single"], s         # averaging runs makes them better
    assert sum(auroc[s]["averaged"] - auroc[s]["single"] for s in LABEL_FIT) > 0.01
    for s in ("vog", "depth"):
        assert abs(auroc[s]["averaged"] - 0.5) < 0.15, s              # "close to chance here"


@pytest.mark.slow
def test_scores_mostly_agree_in_a_tight_block_with_vog_and_depth_apart(lecture):
    c = lecture[1]["correlations"]
    clean = c["clean"]
    assert c["clean_fraction_positive"] >= 0.9
    for a in BLOCK:
        for b in BLOCK:
            assert clean[a][b] >= 0.95, (a, b)                        # "nearly the same ranking"
        assert clean[a]["forgetting"] >= 0.7, a                       # "forgetting events follow closely"
        for loose in ("vog", "depth"):
            assert 0 < clean[a][loose] < 0.5, (a, loose)              # "agree only loosely"
            assert clean[a][loose] < clean[a]["forgetting"] - 0.2, (a, loose)


@pytest.mark.slow
def test_averaging_seeds_raises_agreement_for_every_score_least_for_depth(lecture):
    agree = lecture[1]["seed_agreement"]
    assert set(agree) == set(SCORES)
    gain = {s: agree[s]["averaged"] - agree[s]["single"] for s in SCORES}
    assert all(g > 0 for g in gain.values()), agree
    assert min(gain, key=gain.get) == "depth"
    single = sorted(SCORES, key=lambda s: agree[s]["single"])
    assert single[:2] == ["forgetting", "depth"]                      # noisiest from one run
    assert set(single[-2:]) == {"loss", "margin"}                     # least noisy


@pytest.mark.slow
def test_dropping_the_hardest_helps_with_noise_and_dropping_the_easiest_does_not_on_clean_digits(lecture):
    r = lecture[1]
    ds = r["diet_summary"]
    assert ds["noisy_drop_hardest_10"] >= max(ds["noisy_all"], ds["noisy_random_10"]) + 0.01
    clean = {(row["strategy"], round(row["kept"], 3)): row["accuracy"] for row in r["diet"]["clean"]}
    kept = sorted({k for s, k in clean if s == "random"})
    for k in kept:
        assert clean[("drop easiest", k)] <= clean[("random", k)] + 0.01, k   # "no better than random"
    assert clean[("drop easiest", kept[0])] <= clean[("random", kept[0])] - 0.02  # "worse when pruning hard"


@pytest.mark.slow
def test_difficulty_belongs_to_the_architecture_too(lecture):
    r = lecture[1]
    arch = r["architectures"]
    assert arch["between"] < min(arch["within_mlp"], arch["within_cnn"]) - 0.05
    assert arch["probe_eval_runs"] >= 8
    assert arch["probe_accuracy"] >= 0.875                            # chosen examples tell the runs apart
    assert arch["probe_accuracy"] >= arch["probe_random_accuracy"] + 0.25  # much better than random ones
    assert r["harder_for"]["MLP"]["digit"] == 1 and r["harder_for"]["MLP"]["share"] >= 0.5   # "mostly 1s"
    assert r["harder_for"]["CNN"]["digit"] == 4 and r["harder_for"]["CNN"]["share"] >= 0.5   # "mostly 4s"


@pytest.mark.slow
def test_prediction_depth_on_mnist1d_follows_learning_order_and_label_noise(lecture):
    d = lecture[1]["depth"]
    assert d["knn_input"]["digits"] >= 0.9 and d["knn_input"]["MNIST-1D"] <= 0.7
    assert d["fraction_zero_digits"] >= 0.85                          # digits: decided at the input
    assert d["fraction_zero_train"] <= 0.6                            # MNIST-1D: depths spread out
    assert d["mean_late"] >= d["mean_early"] + 0.5                    # learned late = decided late
    assert d["spearman_learned"] >= 0.3
    assert d["mean_flipped"] >= d["mean_not_flipped"] + 0.3           # wrong labels need more depth
    assert d["mean_val"] >= d["mean_train"] + 0.1                     # unseen examples are decided later
    assert 0 <= d["mean_train"] <= d["n_layers"]
