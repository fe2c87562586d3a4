"""labkit.sparsity: pruning masks against a direct global threshold, fine-tuning under masks,
conv_as_dense against F.conv1d / F.conv2d, ReLU activity, storage counts, the results' tables, the widget,
bad inputs."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import labkit as lk  # noqa: E402
from labkit import sparsity as sp  # noqa: E402


def small_mlp(seed=0):
    torch.manual_seed(seed)
    return lk.models.MLP((1, 8, 8), 10, hidden=(32, 16))


@pytest.fixture(scope="module")
def digits():
    train, _, test = lk.data.train_val_test_split(lk.data.load_digits(), val=0.1, test=0.2)
    return train.subset(torch.arange(400)), test


# ----------------------------------------------------------------------------------------------
# masks


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.9, 0.99])
def test_global_masks_equal_a_direct_global_threshold(amount):
    model = small_mlp()
    masks = sp.global_magnitude_masks(model, amount)
    direct = sp.threshold_masks(sp.masked_weights(model), amount)
    assert list(masks) == list(direct) == ["blocks.fc1.1.weight", "blocks.fc2.0.weight", "blocks.head.0.weight"]
    for name in masks:
        assert torch.equal(masks[name], direct[name]), name
    # by hand: every kept |w| is at least every pruned |w|, and the count is right
    w = torch.cat([p.abs().flatten() for p in sp.masked_weights(model).values()])
    m = torch.cat([v.flatten() for v in masks.values()]).bool()
    assert (~m).sum().item() == round(amount * w.numel())
    if 0 < amount:
        assert w[m].min() >= w[~m].max()
    assert sp.sparsity(masks) == pytest.approx(round(amount * w.numel()) / w.numel())


def test_masks_do_not_touch_the_model_and_the_model_stays_copyable():
    model = small_mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sp.global_magnitude_masks(model, 0.5)
    sp.channel_masks(model, 0.5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(hasattr(m, "weight_orig") for m in model.modules())
    import copy
    copy.deepcopy(model)


def test_threshold_masks_by_hand():
    w = {"a": torch.tensor([[0.1, -3.0], [0.5, 2.0]]), "b": torch.tensor([-0.2, 4.0, 0.05])}
    m = sp.threshold_masks(w, 3 / 7)
    assert m["a"].tolist() == [[0, 1], [1, 1]] and m["b"].tolist() == [0, 1, 0]


def test_channel_masks_remove_whole_units_with_smallest_norm():
    model = small_mlp()
    masks = sp.channel_masks(model, 0.5)
    assert "blocks.head.0.weight" not in masks  # the head's rows are the classes
    w = model.blocks.fc1[1].weight.detach()
    rows = masks["blocks.fc1.1.weight"]
    kept = rows.amax(1).bool()
    assert kept.sum() == 16 and torch.equal(rows, kept[:, None].float().expand_as(rows))
    norms = w.norm(dim=1)
    assert norms[kept].min() >= norms[~kept].max()
    assert torch.equal(masks["blocks.fc1.1.bias"], kept.float())


def test_fine_tuning_keeps_pruned_weights_at_zero(digits):
    train, test = digits
    model = small_mlp()
    lk.fit(model, train, epochs=2, progress=False)
    masks = sp.global_magnitude_masks(model, 0.8)
    run = sp.prune_and_finetune(model, masks, train, test, epochs=2)
    params = dict(run.model.named_parameters())
    for name, m in masks.items():
        assert (params[name][m == 0] == 0).all()
        assert (params[name][m == 1] != 0).any()
    assert list(run.table().columns) == ["before", "after"] and run.table()["after"][0] == run.after
    curve = sp.iterative_curve(model, train, test, [0.5, 0.8], epochs=1)
    rows = curve.table()
    assert isinstance(curve, sp.PruningCurve) and list(rows.columns) == ["sparsity", "remaining", "before", "after"]
    assert rows["sparsity"].tolist() == [0.5, 0.8] and rows["remaining"][1] < rows["remaining"][0]
    assert sp.max_sparsity_within(curve, 1.0, 0.01) in (0.0, 0.5, 0.8)
    assert sp.max_sparsity_within(curve, 0.0, 0.01) == 0.8 and sp.max_sparsity_within(curve, 2.0, 0.01) == 0.0
    channels = sp.channel_curve(model, train, test, [0.5], epochs=0)
    assert isinstance(channels, sp.ChannelCurve)
    assert list(channels.table().columns) == ["amount", "sparsity", "effective", "before", "after"]


def test_lottery_ticket_returns_both_arms(digits):
    train, test = digits
    out = sp.lottery_ticket(lambda: small_mlp(), train, test, sparsity_target=0.8, rounds=2, epochs=1)
    assert out.sparsity == pytest.approx(0.8, abs=0.01) and sp.sparsity(out.masks) == out.sparsity
    assert 0 <= out.ticket <= 1 and 0 <= out.random_reinit <= 1
    assert out.table().to_dict("records") == [{"sparsity": out.sparsity, "dense": out.dense, "ticket": out.ticket,
                                               "random_reinit": out.random_reinit}]


def test_pruning_bad_inputs_say_what_is_wrong():
    model = small_mlp()
    with pytest.raises(ValueError, match="amount"):
        sp.global_magnitude_masks(model, 1.0)
    with pytest.raises(ValueError, match="amount"):
        sp.global_magnitude_masks(model, -0.1)
    with pytest.raises(TypeError, match="nn.Module"):
        sp.prunable_layers("model")
    with pytest.raises(ValueError, match="no Linear or Conv"):
        sp.global_magnitude_masks(nn.Sequential(nn.ReLU()), 0.5)
    with pytest.raises(ValueError, match="not a parameter"):
        sp.apply_masks(model, {"nope": torch.ones(1)})
    with pytest.raises(ValueError, match="shape"):
        sp.apply_masks(model, {"blocks.fc1.1.weight": torch.ones(3)})
    with pytest.raises(ValueError, match="increase"):
        sp.check_sparsities([0.9, 0.5])
    with pytest.raises(ValueError, match="empty"):
        sp.threshold_masks({}, 0.5)


# ----------------------------------------------------------------------------------------------
# conv as a dense matrix


@pytest.mark.parametrize("seed", range(6))
def test_conv1d_as_dense_equals_conv1d(seed):
    g = np.random.default_rng(seed)
    cin, cout, k = int(g.integers(1, 4)), int(g.integers(1, 5)), int(g.integers(1, 6))
    stride, dilation = int(g.integers(1, 4)), int(g.integers(1, 3))
    padding = int(g.integers(0, k + 1))
    length = int(g.integers((k - 1) * dilation + 1, 30))
    torch.manual_seed(seed)
    conv = nn.Conv1d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, bias=bool(seed % 2))
    W, b = sp.conv_as_dense(conv, (cin, length))
    x = torch.randn(cin, length)
    with torch.no_grad():
        expected = F.conv1d(x[None], conv.weight, conv.bias, stride=stride, padding=padding, dilation=dilation)
    assert W.shape == (expected.numel(), cin * length)
    torch.testing.assert_close(W @ x.flatten() + b, expected.flatten(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_conv2d_as_dense_equals_conv2d(seed):
    g = np.random.default_rng(100 + seed)
    cin, cout, k = int(g.integers(1, 4)), int(g.integers(1, 4)), int(g.integers(1, 4))
    stride, padding = (int(g.integers(1, 3)), int(g.integers(1, 3))), (int(g.integers(0, 2)), int(g.integers(0, 2)))
    h, w = int(g.integers(k, 10)), int(g.integers(k, 10))
    groups = cin if seed % 3 == 0 else 1
    cout = cout * groups
    torch.manual_seed(seed)
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups)
    W, b = sp.conv_as_dense(conv, (cin, h, w))
    x = torch.randn(cin, h, w)
    with torch.no_grad():
        expected = F.conv2d(x[None], conv.weight, conv.bias, stride=stride, padding=padding, groups=groups)
    torch.testing.assert_close(W @ x.flatten() + b, expected.flatten(), atol=1e-5, rtol=1e-5)


def test_conv_as_dense_with_same_and_circular_padding():
    torch.manual_seed(0)
    for conv in (nn.Conv1d(2, 3, 4, padding="same"), nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular")):
        W, b = sp.conv_as_dense(conv, (conv.in_channels, 11))
        x = torch.randn(conv.in_channels, 11)
        with torch.no_grad():
            torch.testing.assert_close(W @ x.flatten() + b, conv(x[None]).flatten(), atol=1e-5, rtol=1e-5)


def test_dense_summary_shows_sparsity_and_sharing():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 4, 3, padding=1)
    s = sp.dense_summary(conv, (1, 8, 8))
    assert s["dense shape"] == (256, 64) and s["conv weights"] == 36
    assert s["distinct nonzero values"] == 36 and s["zero share"] > 0.8


def test_conv_as_dense_bad_inputs():
    with pytest.raises(TypeError, match="Conv1d or nn.Conv2d"):
        sp.conv_as_dense(nn.Linear(3, 3), (3,))
    with pytest.raises(ValueError, match=r"\(C, L\)"):
        sp.conv_as_dense(nn.Conv1d(1, 2, 3), (1, 1, 10))
    with pytest.raises(ValueError, match="channels"):
        sp.conv_as_dense(nn.Conv2d(3, 2, 3), (1, 8, 8))
    with pytest.raises(ValueError, match="cannot take"):
        sp.conv_as_dense(nn.Conv1d(1, 2, 5), (1, 3))


# ----------------------------------------------------------------------------------------------
# ReLU activity


def test_relu_activity_against_a_direct_count():
    model = small_mlp()
    X = torch.rand(50, 1, 8, 8)
    stats = sp.relu_activity(model, X)
    with torch.no_grad():
        h1 = model.blocks.fc1[1](X.flatten(1))
        h2 = model.blocks.fc2[0](torch.relu(h1))
    for (name, pre) in zip(stats.inactive, (h1, h2)):
        off = pre <= 0
        assert stats.inactive[name] == pytest.approx(off.float().mean().item(), abs=1e-6)
        torch.testing.assert_close(stats.per_example[name], off.float().mean(1))
        assert stats.dead[name] == pytest.approx(off.all(0).float().mean().item())
    rows = stats.table()  # one row per activation layer
    assert rows["layer"].tolist() == list(stats.inactive) and rows["dead"].tolist() == list(stats.dead.values())
    sp.set_biases(model, -100.0)
    assert sp.relu_activity(model, X).dead_overall == 1.0


def test_dying_relu_run_returns_its_numbers_and_the_model(digits):
    train, _ = digits
    run = sp.dying_relu_run(lambda: small_mlp(), train, lr=1e-3, epochs=1, bias=-100.0, progress=False)
    assert run.dead_before == 1.0 and run.bias == -100.0 and isinstance(run.model, nn.Module)
    assert list(run.table().columns) == ["lr", "bias", "dead_before", "dead", "inactive", "final_loss"]
    ax = sp.plot_dead_units([run, run])
    assert len(ax.lines) == 1


def test_relu_activity_bad_inputs():
    with pytest.raises(ValueError, match="no activation"):
        sp.relu_activity(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), torch.zeros(3, 4))
    with pytest.raises(TypeError, match="nn.Module"):
        sp.relu_activity("model", torch.zeros(3, 4))


# ----------------------------------------------------------------------------------------------
# storage, widget


def test_storage_bytes_by_hand():
    W = torch.zeros(4, 5)
    W[0, 1], W[2, 3], W[3, 0] = 1.0, 2.0, 3.0
    b = sp.storage_bytes(W)
    assert b == {"dense": 80, "csr32": 8 * 3 + 4 * 5, "csr_torch": 3 * 4 + 3 * 8 + 5 * 8, "density": 3 / 20}
    assert (sp.random_sparse(100, 100, 0.9) == 0).float().mean().item() == pytest.approx(0.9, abs=0.02)
    with pytest.raises(ValueError, match="2-D"):
        sp.storage_bytes(torch.zeros(3))


def test_matmul_times_rows():
    times = sp.matmul_times(64, [0.0, 0.9], batch=4, repeats=1)
    rows = times.table()
    assert isinstance(times, sp.MatmulTimes) and rows["sparsity"].tolist() == [0.0, 0.9]
    assert (rows["dense s"] > 0).all() and (rows["torch csr s"] > 0).all()
    assert rows["dense bytes"].tolist() == [4 * 64 * 64] * 2
    assert len(sp.plot_times(times).lines) == 4


def test_pruning_view_is_pure_and_the_widget_builds(digits):
    _, test = digits
    model = small_mlp()
    view = sp.pruning_view(model, test, 0.9)
    assert "90%" in view.summary() and view.amount == 0.9
    assert view.remaining == round(0.1 * view.total) and 0 <= view.accuracy <= 1
    assert len(sp.render_pruning(view).axes) == 1
    box = sp.pruning_widget(model, test)
    assert box.view.layer == "blocks.fc1.1.weight"
    with pytest.raises(ValueError, match="layer"):
        sp.pruning_view(model, test, 0.5, layer="nope")


def test_effective_sparsity_counts_what_a_removed_unit_takes_with_it():
    data = lk.data.load_digits()
    model = lk.models.make_model("mlp", data, hidden=(256, 256))
    weights = {n: w for n, w in sp.masked_weights(model).items()}
    sizes = [w.numel() for w in weights.values()]  # 64x256, 256x256, 256x10
    masks = sp.channel_masks(model, 0.5)
    # half the rows of both hidden layers, plus the columns that read the removed units
    expected = (sizes[0] / 2 + (sizes[1] - (256 / 2) * (256 / 2)) + sizes[2] / 2) / sum(sizes)
    assert sp.effective_sparsity(model, masks) == pytest.approx(expected)
    unstructured = sp.global_magnitude_masks(model, 0.8)
    assert sp.effective_sparsity(model, unstructured) == pytest.approx(sp.sparsity(unstructured))
    with pytest.raises(TypeError, match="Linear"):
        sp.effective_sparsity(lk.models.make_model("cnn", lk.data.load_mnist1d(n_train=100, n_test=10)[0]), {})


def test_mean_curve_averages_matching_rows_and_refuses_mismatched_runs():
    a = sp.PruningCurve([{"sparsity": 0.5, "after": 0.9}, {"sparsity": 0.9, "after": 0.7}])
    b = sp.PruningCurve([{"sparsity": 0.5, "after": 0.8}, {"sparsity": 0.9, "after": 0.5}])
    mean = sp.mean_curve([a, b])
    assert isinstance(mean, sp.PruningCurve)
    assert mean.table().to_dict("records") == [{"sparsity": 0.5, "after": pytest.approx(0.85)},
                                               {"sparsity": 0.9, "after": pytest.approx(0.6)}]
    channels = sp.ChannelCurve([{"amount": 0.5, "after": 0.9}])
    assert isinstance(sp.mean_curve([channels, channels], key="amount"), sp.ChannelCurve)
    with pytest.raises(ValueError, match="different sparsity"):
        sp.mean_curve([a, sp.PruningCurve(b.rows[:1])])
    with pytest.raises(ValueError, match="empty"):
        sp.mean_curve([])
    with pytest.raises(TypeError, match="pruning curves"):
        sp.mean_curve([a.rows.to_dict("records")])
