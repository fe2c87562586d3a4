"""labkit.shortcuts: stars and moons, the p sweep, counterfactual per-block training, the table,
and the widget's logic (without a browser)."""
import copy
import pickle

import numpy as np
import pytest
import torch

import labkit as lk
from labkit import shortcuts as sc
from labkit.results import Result


@pytest.fixture(scope="module")
def digits():
    return lk.data.base_images("digits")


@pytest.fixture(scope="module")
def paired(digits):
    train, test = digits
    pair = sc.paired_shortcut_data(train, "patch", p=1.0, seed=0)
    test_clean = lk.data.shortcut_ood(test, "patch", "shuffle", seed=1)
    return pair.clean, pair.skewed, test_clean


# ---------------------------------------------------------------------------------------------
# stars and moons


def test_stars_moons_models():
    fc = sc.stars_moons_model("fc", (1, 32, 32), hidden=(64, 32))
    assert fc.block_names == ["fc1", "fc2", "head"]
    assert fc(torch.zeros(3, 1, 32, 32)).shape == (3, 2)
    cnn = sc.stars_moons_model("cnn", (1, 32, 32), width=4, depth=2)
    assert any(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in cnn.modules())
    with pytest.raises(ValueError, match="unknown architecture 'rnn'"):
        sc.stars_moons_model("rnn", (1, 32, 32))


def test_fully_connected_net_takes_the_location_shortcut():
    r = sc.stars_moons_experiment("fc", size=32, n_train=500, n_test=300, hidden=(256, 256), epochs=5)
    assert r.train_acc >= 0.95 and r.iid_acc >= 0.95
    assert r.ood_acc <= 0.65, r
    row = r.table()
    assert list(row.columns) == ["arch", "rule", "train_acc", "iid_acc", "ood_acc", "seconds"] and len(row) == 1
    assert row.loc[0, "ood_acc"] == r.ood_acc and isinstance(r, Result)


def test_stars_moons_rejects_bad_rule():
    with pytest.raises(ValueError, match="rule must be in"):
        sc.stars_moons_experiment("fc", rule=1.5)


# ---------------------------------------------------------------------------------------------
# injected shortcuts


def test_upscale_and_base_images(digits):
    train, test = digits
    assert train.input_shape == (1, 8, 8) and len(train) + len(test) == 1797
    big = lk.data.upscale(train.subset(range(5)), 16)
    assert big.input_shape == (1, 16, 16) and float(big.X.min()) >= 0 and float(big.X.max()) <= 1
    small_train, small_test = lk.data.base_images("digits", size=16, n_train=100, n_test=50)
    assert (len(small_train), len(small_test)) == (100, 50) and small_train.input_shape == (1, 16, 16)
    with pytest.raises(TypeError, match="images"):
        lk.data.upscale(lk.data.make_moons(20), 16)


def _write_cifar10(root, per_batch=6):
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
                 "labels": (np.arange(per_batch) % 10).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = [f"class{i}" for i in range(10)]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))


def test_full_scale_images_are_cifar10_with_a_patch(tmp_path):
    _write_cifar10(tmp_path)
    train, test = lk.data.base_images("cifar10", root=tmp_path)
    assert train.input_shape == (3, 32, 32) and (len(train), len(test)) == (30, 6)
    patched = lk.data.inject_shortcut(train, "patch", p=1.0, patch_size=4)
    assert patched.input_shape == (3, 32, 32)


def test_full_scale_offline_says_what_to_do(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise RuntimeError("Downloading cifar10 failed (URLError). Are you offline?")

    monkeypatch.setattr(lk.data.real, "_download", offline)
    with pytest.raises(RuntimeError, match="(?s)CIFAR-10.*Are you offline.*LABKIT_SCALE=class"):
        lk.data.base_images("cifar10", root=tmp_path)


def test_ood_accuracy_falls_as_the_cue_gets_stronger(digits):
    train, test = digits
    sweep = sc.shortcut_sweep(train, test, ps=[0.0, 1.0], kind="patch", model="mlp", epochs=4)
    assert isinstance(sweep, sc.ShortcutSweep) and len(sweep) == 2
    assert list(sweep.table().columns) == ["p", "seed", "train_acc", "iid_acc", "ood_shuffle_acc", "ood_remove_acc"]
    at = sweep.table().set_index("p")
    assert at.loc[1.0, "iid_acc"] >= 0.95  # the cue makes the i.i.d. test easy ...
    assert at.loc[1.0, "ood_shuffle_acc"] < at.loc[0.0, "ood_shuffle_acc"] - 0.3  # ... and the o.o.d. test hard


def test_sweep_checks_its_inputs(digits):
    train, test = digits
    with pytest.raises(ValueError, match="ps is empty"):
        sc.shortcut_sweep(train, test, ps=[])
    with pytest.raises(ValueError, match="p must be in"):
        sc.shortcut_sweep(train, test, ps=[1.2])
    with pytest.raises(ValueError, match="unknown shortcut kind"):
        sc.shortcut_sweep(train, test, kind="sticker")
    with pytest.raises(TypeError, match="model must be"):
        sc.shortcut_sweep(train, test, ps=[0.5], model=3)


def test_paired_data_differ_only_in_the_cue(digits):
    train, _ = digits
    pair = sc.paired_shortcut_data(train, "patch", p=0.7, seed=4)
    clean, skewed = pair.clean, pair.skewed
    assert torch.equal(clean.y, skewed.y)
    # clean cues carry (almost) no label information; skewed ones mostly do
    assert clean.meta["cue_is_label"].float().mean() < 0.2
    assert skewed.meta["cue_is_label"].float().mean() > 0.7
    same_cue = clean.meta["cue"] == skewed.meta["cue"]
    same_image = (clean.X == skewed.X).flatten(1).all(1)
    assert torch.equal(same_cue, same_image)
    table = pair.table()  # one row per example: its label and the cue of each version
    assert list(table.columns) == ["label", "clean_cue", "skewed_cue"] and len(table) == len(train)
    assert (table.skewed_cue == table.label).to_numpy().tolist() == skewed.meta["cue_is_label"].tolist()


# ---------------------------------------------------------------------------------------------
# counterfactual per-block training


def test_batch_plan_visits_every_example_once_per_epoch():
    plan = lk.training.batch_plan(10, 4, epochs=2, seed=3)
    assert [len(b) for b in plan] == [4, 4, 2, 4, 4, 2]
    assert sorted(torch.cat(plan[:3]).tolist()) == list(range(10))
    assert all(torch.equal(a, b) for a, b in zip(plan, lk.training.batch_plan(10, 4, 2, seed=3)))
    assert not all(torch.equal(a, b) for a, b in zip(plan, lk.training.batch_plan(10, 4, 2, seed=4)))


def _mlp(data, hidden=(32, 32)):
    return lambda: lk.models.MLP(data.input_shape, data.n_classes, hidden=hidden)


def test_one_source_is_ordinary_training(paired):
    """sources='skewed' with fit's batch order and optimizer gives fit's model."""
    clean, skewed, _ = paired
    lk.seed_everything(0)
    a = _mlp(clean)()
    b = copy.deepcopy(a)
    sc.train_blockwise(a, clean, skewed, "skewed", epochs=2, batch_size=64, seed=5)
    lk.fit(b, skewed, epochs=2, batch_size=64, seed=5, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_each_block_gets_the_gradient_of_its_own_source(paired):
    clean, skewed, _ = paired
    lk.seed_everything(1)
    init = _mlp(clean)()
    plan = lk.training.batch_plan(len(clean), 64, 1, seed=0)[:1]  # a single step
    trained = {}
    for name, sources in {"clean": "clean", "skewed": "skewed",
                          "mixed": {"fc1": "clean", "fc2": "skewed", "head": "skewed"}}.items():
        net = copy.deepcopy(init)
        sc.train_blockwise(net, clean, skewed, sources, plan=plan)
        trained[name] = net
    for block, source in (("fc1", "clean"), ("fc2", "skewed"), ("head", "skewed")):
        for p_mixed, p_ref in zip(trained["mixed"].blocks[block].parameters(),
                                  trained[source].blocks[block].parameters()):
            torch.testing.assert_close(p_mixed, p_ref)
    # and the two sources really differ, so the check above can fail
    assert not torch.allclose(trained["clean"].blocks["fc1"][1].weight, trained["skewed"].blocks["fc1"][1].weight)


def test_batch_norm_statistics_follow_the_block_source(digits):
    train, _ = digits
    pair = sc.paired_shortcut_data(train.subset(range(128)), "patch", p=1.0)
    clean, skewed = pair.clean, pair.skewed
    lk.seed_everything(2)
    init = lk.models.VGG(clean.input_shape, 10, widths=(4, 8))
    plan = [torch.arange(64)]
    nets = {}
    for name, sources in {"clean": "clean", "skewed": "skewed",
                          "mixed": {"stage1": "skewed", "stage2": "clean", "head": "clean"}}.items():
        nets[name] = copy.deepcopy(init)
        sc.train_blockwise(nets[name], clean, skewed, sources, plan=plan)

    def stats(net, block):
        return [m.running_mean for m in net.blocks[block].modules() if isinstance(m, torch.nn.BatchNorm2d)]

    for block, source in (("stage1", "skewed"), ("stage2", "clean")):
        for got, ref in zip(stats(nets["mixed"], block), stats(nets[source], block)):
            torch.testing.assert_close(got, ref)
    assert not torch.allclose(stats(nets["clean"], "stage1")[0], stats(nets["skewed"], "stage1")[0])


def test_lr_scale_zero_freezes_a_block(paired):
    clean, skewed, _ = paired
    lk.seed_everything(3)
    net = _mlp(clean)()
    before = copy.deepcopy(net)
    sc.train_blockwise(net, clean, skewed, "skewed", epochs=1, lr_scale={"fc1": 0.0, "head": 0.5})
    assert all(torch.equal(a, b) for a, b in zip(net.blocks["fc1"].parameters(), before.blocks["fc1"].parameters()))
    assert not torch.equal(net.blocks["fc2"][0].weight, before.blocks["fc2"][0].weight)


def test_train_blockwise_checks_its_inputs(paired, digits):
    clean, skewed, _ = paired
    net = _mlp(clean)()
    with pytest.raises(ValueError, match=r"no source for block\(s\) \['fc2', 'head'\]"):
        sc.train_blockwise(net, clean, skewed, {"fc1": "clean"})
    with pytest.raises(ValueError, match="unknown block"):
        sc.train_blockwise(net, clean, skewed, {"conv1": "clean", "fc1": "clean", "fc2": "clean", "head": "clean"})
    with pytest.raises(ValueError, match="unknown source 'dirty'"):
        sc.train_blockwise(net, clean, skewed, "dirty")
    with pytest.raises(ValueError, match="same examples"):
        sc.train_blockwise(net, clean, skewed.subset(range(10)), "clean")
    with pytest.raises(ValueError, match="different labels"):
        sc.train_blockwise(net, clean, skewed.with_labels((skewed.y + 1) % 10), "clean")
    with pytest.raises(ValueError, match="every block is frozen"):
        sc.train_blockwise(net, clean, skewed, "clean", lr_scale={"fc1": 0, "fc2": 0, "head": 0})
    with pytest.raises(ValueError, match="lr_scale names unknown"):
        sc.train_blockwise(net, clean, skewed, "clean", lr_scale={"fc9": 0.1})
    with pytest.raises(TypeError, match="BlockNet"):
        sc.train_blockwise(torch.nn.Linear(64, 10), clean, skewed, "clean")


# ---------------------------------------------------------------------------------------------
# the table


def _additive_accuracies(blocks, a_clean, harm):
    """An accuracy that loses harm[b] for every block trained on skewed data (no interaction)."""
    runs = sc.counterfactual_runs(blocks)
    return {name: a_clean - sum(harm[b] for b, s in src.items() if s == "skewed") for name, src in runs.items()}


def test_table_of_independent_blocks_has_no_interaction():
    blocks = ["conv1", "conv2", "head"]
    harm = {"conv1": 0.3, "conv2": 0.1, "head": 0.05}
    acc = _additive_accuracies(blocks, 0.9, harm)
    table = sc.attribution_table(acc["all clean"], acc["all skewed"], {b: acc[f"only {b} skewed"] for b in blocks},
                                 {b: acc[f"only {b} clean"] for b in blocks})
    assert list(table.index) == blocks + ["interaction", "total drop"]
    for col in ("spurious_encoding", "core_forgetting", "attribution"):
        np.testing.assert_allclose(table.loc[blocks, col], [harm[b] for b in blocks], atol=1e-12)
        assert abs(table.loc["interaction", col]) < 1e-12
        assert table.loc["total drop", col] == pytest.approx(0.45)


def test_table_columns_sum_to_the_measured_drop_and_show_redundancy():
    # redundant blocks: any single block trained on clean data rescues everything
    blocks = ["a", "b"]
    table = sc.attribution_table(0.9, 0.3, {"a": 0.9, "b": 0.9}, {"a": 0.9, "b": 0.9})
    assert table.loc[blocks, "spurious_encoding"].tolist() == [0.0, 0.0]
    assert table.loc["interaction", "spurious_encoding"] == pytest.approx(0.6)
    assert table.loc[blocks, "core_forgetting"].tolist() == pytest.approx([0.6, 0.6])
    assert table.loc["interaction", "core_forgetting"] == pytest.approx(-0.6)
    for col in table.columns:
        assert table[col].drop("total drop").sum() == pytest.approx(0.9 - 0.3)


def test_table_checks_its_inputs():
    with pytest.raises(ValueError, match="only_skewed is empty"):
        sc.attribution_table(0.9, 0.5, {}, {})
    with pytest.raises(ValueError, match="same blocks"):
        sc.attribution_table(0.9, 0.5, {"a": 0.8}, {"b": 0.8})
    with pytest.raises(ValueError, match=r"only_clean\['a'\] must be in"):
        sc.attribution_table(0.9, 0.5, {"a": 0.8}, {"a": 80.0})


def _localization(enc, forg):
    blocks = list(enc)
    table = sc.attribution_table(0.9, 0.9 - 0.5, {b: 0.9 - enc[b] for b in blocks},
                                 {b: 0.4 + forg[b] for b in blocks})
    return sc.Localization(blocks, {"all clean": 0.9, "all skewed": 0.4}, [], table, 0.0)


def test_pattern_reports_where_encoding_and_forgetting_sit():
    yes = _localization({"b1": 0.3, "b2": 0.1, "b3": 0.0}, {"b1": 0.0, "b2": 0.1, "b3": 0.4}).pattern()
    assert yes["encoding_peak"] == "b1" and yes["forgetting_peak"] == "b3" and yes["shallow_encodes_deep_forgets"]
    no = _localization({"b1": 0.0, "b2": 0.1, "b3": 0.3}, {"b1": 0.4, "b2": 0.1, "b3": 0.0}).pattern()
    assert not no["shallow_encodes_deep_forgets"]
    same_peak = _localization({"b1": 0.3, "b2": 0.0, "b3": 0.0}, {"b1": 0.5, "b2": 0.3, "b3": 0.1}).pattern()
    assert not same_peak["shallow_encodes_deep_forgets"]  # forgetting also peaks in the shallowest block


@pytest.mark.parametrize("arch", ["mlp", "cnn", "vgg", "resnet"])
def test_localization_works_for_every_block_model(arch, digits):
    train, test = digits
    train, test = train.subset(range(256)), test.subset(range(128))
    pair = sc.paired_shortcut_data(train, "patch", p=1.0)
    clean, skewed = pair.clean, pair.skewed
    test_clean = lk.data.shortcut_ood(test, "patch", "shuffle")
    shape = clean.input_shape
    build = {"mlp": lambda: lk.models.MLP(shape, 10, hidden=(32, 32)),
             "cnn": lambda: lk.models.SmallCNN(shape, 10, width=4, depth=2),
             "vgg": lambda: lk.models.VGG(shape, 10, widths=(4, 8)),
             "resnet": lambda: lk.models.ResNet(shape, 10, widths=(4, 8))}[arch]
    loc = sc.localize_shortcut(build, clean, skewed, test_clean, epochs=1, batch_size=64)
    blocks = build().block_names
    assert loc.blocks == blocks
    assert set(loc.accuracies) == set(sc.counterfactual_runs(blocks)) and len(loc.accuracies) == 2 + 2 * len(blocks)
    # the table is built from the measured runs and each column sums to the measured total drop
    total = loc.accuracies["all clean"] - loc.accuracies["all skewed"]
    table = loc.table()
    assert table.equals(loc.attribution) and list(table.index) == [*blocks, "interaction", "total drop"]
    for b in blocks:
        assert table.loc[b, "spurious_encoding"] == pytest.approx(loc.accuracies["all clean"] - loc.accuracies[f"only {b} skewed"])
        assert table.loc[b, "core_forgetting"] == pytest.approx(loc.accuracies[f"only {b} clean"] - loc.accuracies["all skewed"])
    for col in table.columns:
        assert table[col].drop("total drop").sum() == pytest.approx(total)


def test_localization_measures_a_real_drop_and_is_repeatable(paired):
    clean, skewed, test_clean = paired
    kw = dict(epochs=3, batch_size=64, seeds=[0])
    loc = sc.localize_shortcut(_mlp(clean, (64, 64)), clean, skewed, test_clean, **kw)
    assert loc.total_drop > 0.2  # the skewed network follows the shuffled patch
    again = sc.localize_shortcut(_mlp(clean, (64, 64)), clean, skewed, test_clean, **kw)
    assert again.accuracies == loc.accuracies
    shares = loc.shares()  # the table as shares of the total drop: each column sums to 1
    assert list(shares.index) == [*loc.blocks, "interaction"]
    assert shares.sum().to_numpy() == pytest.approx([1.0, 1.0])
    assert shares.loc[loc.blocks[0], "spurious_encoding"] == pytest.approx(
        loc.attribution.loc[loc.blocks[0], "spurious_encoding"] / loc.total_drop)


def test_mitigation_trial(paired):
    clean, skewed, test_clean = paired
    out = sc.mitigation_trial(_mlp(clean), clean, skewed, test_clean,
                              {"plain": {}, "freeze fc1": {"fc1": 0.0}}, iid_test=skewed, epochs=2)
    assert isinstance(out, sc.MitigationTrial) and len(out) == 3
    table = out.table()
    assert list(table.index) == ["clean reference", "plain", "freeze fc1"]
    assert list(table.columns) == ["clean_test_acc", "iid_acc"]
    assert table.loc["clean reference", "clean_test_acc"] > table.loc["plain", "clean_test_acc"]
    with pytest.raises(ValueError, match="variants is empty"):
        sc.mitigation_trial(_mlp(clean), clean, skewed, test_clean, {})


# ---------------------------------------------------------------------------------------------
# the widget's logic, and the widget without a browser

TINY = dict(size=32, n_train=200, n_test=100, epochs=3, hidden=(64, 64), width=4, depth=2)


def test_demo_view_is_deterministic_and_cached():
    first = sc.shortcut_view(1.0, "fc", draw=0, config=TINY)
    again = sc.shortcut_view(1.0, "fc", draw=0, config=TINY)
    assert (first.iid_acc, first.ood_acc, first.prediction) == (again.iid_acc, again.ood_acc, again.prediction)
    assert torch.equal(first.image, again.image) and first.image.shape == (1, 32, 32)
    other = sc.shortcut_view(1.0, "fc", draw=1, config=TINY)
    assert not torch.equal(first.image, other.image)
    assert other.iid_acc == first.iid_acc  # a new image does not retrain
    text = first.summary()
    assert "rule 1.00" in text and f"o.o.d. accuracy {first.ood_acc:.2f}" in text
    assert first.label in ("star", "moon") and first.prediction in ("star", "moon")
    assert 0.5 <= first.confidence <= 1.0
    fig = sc.render_shortcut(first)
    assert len(fig.axes) == len(first.example_titles) + 2 and lk.viz.fig_to_png(fig).startswith(b"\x89PNG")


def test_demo_view_responds_to_the_rule_and_the_architecture():
    strict = sc.shortcut_view(1.0, "fc", config=TINY)
    loose = sc.shortcut_view(0.5, "fc", config=TINY)
    assert strict.iid_acc > loose.iid_acc  # with the rule in force the i.i.d. test is easy
    cnn = sc.shortcut_view(1.0, "cnn", config=TINY)
    assert cnn.arch == "cnn" and "global average pooling" in cnn.summary()


def test_demo_view_checks_its_inputs():
    with pytest.raises(ValueError, match="rule must be in"):
        sc.shortcut_view(0.2, "fc", config=TINY)
    with pytest.raises(ValueError, match="unknown architecture"):
        sc.shortcut_view(1.0, "transformer", config=TINY)
    with pytest.raises(ValueError, match="draw must be"):
        sc.shortcut_view(1.0, "fc", draw=-1, config=TINY)


def test_widget_updates_when_a_control_changes():
    import ipywidgets as w

    box = sc.shortcut_widget(config=TINY)
    controls = box.children[0].children
    slider = next(c for c in controls if isinstance(c, w.FloatSlider))
    button = next(c for c in controls if isinstance(c, w.Button))
    summary = next(c for c in box.children if isinstance(c, w.HTML))
    picture = next(c for c in box.children if isinstance(c, w.Image))
    start, png = summary.value, bytes(picture.value)
    assert "rule 1.00" in start and png.startswith(b"\x89PNG")
    button.click()
    assert "test image #1" in summary.value and bytes(picture.value) != png
    slider.value = 0.5
    assert "rule 0.50" in summary.value


def test_the_stars_and_moons_bars_show_the_mean_and_range_over_seeds():
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd

    rows = pd.DataFrame([{"arch": a, "seed": s, "train_acc": 1.0, "iid_acc": 0.9 + 0.02 * s, "ood_acc": v}
                         for a, vals in (("fc", (0.5, 0.52, 0.54)), ("cnn", (0.6, 0.9, 0.93)))
                         for s, v in enumerate(vals)])
    ax = sc.plot_stars_moons(rows)
    heights = [round(b.get_height(), 4) for b in ax.patches]
    assert heights == [1.0, 0.92, 0.52, 1.0, 0.92, 0.81]  # fc then cnn: the mean over the three seeds
    assert any("(3 seeds)" in label for label in ax.get_legend_handles_labels()[1])
    one = sc.plot_stars_moons([rows.iloc[0].to_dict()])  # a list of rows still works
    assert len(one.patches) == 3
    run = sc.StarsMoonsResult("fc", 1.0, 1.0, 0.9, 0.5, 0.0, model=None)
    assert len(sc.plot_stars_moons([run, run]).patches) == 3  # and so does a list of results


def test_the_sweep_and_localization_plots_take_their_results():
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd

    rows = pd.DataFrame([{"p": p, "seed": s, "train_acc": 1.0, "iid_acc": 0.9, "ood_shuffle_acc": 0.8 - p / 2,
                          "ood_remove_acc": 0.8 - p / 4} for p in (0.0, 1.0) for s in (0, 1)])
    for sweep in (sc.ShortcutSweep(rows), rows):
        ax = sc.plot_sweep(sweep)
        assert len(ax.lines) == 3 and ax.lines[1].get_ydata().tolist() == pytest.approx([0.8, 0.3])
    loc = _localization({"b1": 0.3, "b2": 0.1}, {"b1": 0.2, "b2": 0.2})
    ax = sc.plot_localization(loc)
    assert len(ax.patches) == 2 * 3  # two bars for each block and for the interaction
