"""Lecture L1 runs top to bottom at the class scale, the scale its text describes, and every claim
of its text holds there. Each test compares conditions with margins, orders or bounds, so it fails
if the phenomenon it names disappears."""
from pathlib import Path

import nbformat
import pytest

from notebook_runner import assert_ran_at_class_scale, run_lecture

NOTEBOOK = Path(__file__).resolve().parents[2] / "lectures" / "L1_shortcuts.ipynb"


@pytest.fixture(scope="module")
def lecture():
    return run_lecture(NOTEBOOK)


def test_has_its_widget_and_cites_every_source_it_lists():
    sources = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells]
    assert any("shortcut_demo()" in s for s in sources)
    refs, body = sources[-1], "\n".join(sources[:-1])
    for arxiv, cited in (("2004.07780", "Geirhos"), ("2510.26560", "Tsoy"), ("1707.07328", "Jia"),
                         ("1807.00431", "Zech"), ("1807.04975", "Beery")):
        assert arxiv in refs and cited in body, cited


@pytest.mark.slow
def test_runs_cleanly_at_class_scale_within_budget(lecture):
    nb, results = lecture
    assert_ran_at_class_scale(nb, results)
    assert results["seconds_total"] < 240  # the budget is 2 min on a quiet 2-core CPU; this catches a blow-up
    cell = next(c for c in nb.cells if "shortcut_demo()" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)


@pytest.mark.slow
def test_fully_connected_net_learns_the_location_rule(lecture):
    fc = lecture[1]["stars_moons"]["fc"]
    assert fc["train_acc"] >= 0.98 and fc["iid_acc"] >= 0.98   # "fits the training set and the i.i.d. test"
    assert fc["ood_acc"] <= 0.60                                # "at chance on the o.o.d. test" (0.5)


@pytest.mark.slow
def test_cnn_with_global_pooling_learns_shape(lecture):
    fc, cnn = lecture[1]["stars_moons"]["fc"], lecture[1]["stars_moons"]["cnn"]
    assert cnn["ood_acc"] >= fc["ood_acc"] + 0.3
    assert cnn["ood_acc"] >= cnn["iid_acc"] - 0.05              # what it learned carries over to shapes anywhere


@pytest.mark.slow
def test_a_reliable_cue_hides_from_the_iid_test_and_breaks_the_ood_one(lecture):
    r = lecture[1]
    sweep, slopes = r["sweep"], r["sweep_slopes"]
    p, ood, iid, removed = sweep["p"], sweep["ood_shuffle_acc"], sweep["iid_acc"], sweep["ood_remove_acc"]
    assert p == sorted(p) and p[0] == 0.0 and p[-1] == 1.0 and 0.5 in p
    assert min(iid) >= iid[0] - 0.01 and iid[-1] >= iid[0] + 0.02   # never suffers, even rises
    assert ood[p.index(0.5)] >= ood[0] - 0.06                       # weak cues cost little
    assert ood[-1] <= ood[0] - 0.4                                  # at p = 1 far below the digit alone
    assert r["sweep_spearman"] <= -0.9
    assert removed[-1] >= ood[-1] + 0.2                             # removing hurts less than shuffling
    assert slopes["last"] >= 3 * slopes["mean"] and slopes["last"] >= 5 * slopes["first"]  # steepest near p = 1


def _shares(loc):
    """Each block's encoding and forgetting as shares of the total drop."""
    drop, t = loc["total_drop"], loc["table"]
    enc = {b: t["spurious_encoding"][b] / drop for b in loc["blocks"] + ["interaction"]}
    forg = {b: t["core_forgetting"][b] / drop for b in loc["blocks"] + ["interaction"]}
    return enc, forg


@pytest.mark.slow
def test_the_shortcut_is_spread_over_the_blocks_with_strong_interactions(lecture):
    locs = lecture[1]["localization"]
    assert set(locs) == {"mlp", "cnn"}
    for arch, loc in locs.items():
        acc = loc["accuracies"]
        assert loc["total_drop"] == pytest.approx(acc["all clean"] - acc["all skewed"]) and loc["total_drop"] >= 0.4
        enc, forg = _shares(loc)
        alone = [b for b in loc["blocks"] if not (arch == "mlp" and b == loc["blocks"][0])]
        assert all(enc[b] <= 0.1 for b in alone), (arch, enc)        # one block alone does little harm
        assert enc["interaction"] >= 0.4, (arch, enc)                # much of the drop needs blocks together
        assert max(forg[b] for b in loc["blocks"]) >= 0.5, (arch, forg)  # one clean block rescues a lot
        assert loc["pattern"]["shallow_encodes_deep_forgets"] is False, arch  # not reproduced here
    mlp_enc, mlp_forg = _shares(locs["mlp"])
    first = locs["mlp"]["blocks"][0]
    assert mlp_enc[first] >= 0.2                                      # the MLP's first layer sees the patch
    forgetting = [mlp_forg[b] for b in locs["mlp"]["blocks"]]
    assert all(a > b for a, b in zip(forgetting, forgetting[1:])), forgetting  # largest first, shrinks with depth
    _, cnn_forg = _shares(locs["cnn"])
    assert all(cnn_forg[b] >= 0.5 for b in locs["cnn"]["blocks"] if b.startswith("conv"))  # each rescues most
    assert cnn_forg["interaction"] <= -0.5                            # redundancy
    assert sum(cnn_forg[b] for b in locs["cnn"]["blocks"]) >= 1.5     # the column sums to far more than the drop


@pytest.mark.slow
def test_layer_wise_mitigation_barely_helps(lecture):
    acc = lecture[1]["mitigation"]["clean_test_acc"]
    assert {"clean reference", "skewed, no change"} <= set(acc) and len(acc) >= 4
    base, ref = acc["skewed, no change"], acc["clean reference"]
    best = max(v for k, v in acc.items() if k not in ("clean reference", "skewed, no change"))
    assert ref >= base + 0.4
    assert best <= base + 0.1                                         # "barely helped"
    assert ref - best >= 0.75 * (ref - base)                          # closes only a small part of the gap
