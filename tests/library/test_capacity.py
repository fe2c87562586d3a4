"""labkit.capacity: the minimum-norm and ridge fits against their definitions, the double-descent
peak on a small sweep, SubspaceNet against a direct computation (forward and gradient), subspace
training that moves only theta_d, d_int90, MIMO's independent example tuples, block resets, the
results' tables, the widget, bad inputs."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import labkit as lk  # noqa: E402
from labkit import capacity as cap  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    train, _, test = lk.data.train_val_test_split(lk.data.load_digits(), val=0, test=0.3)
    return train, test


def tiny_mlp(seed=0):
    torch.manual_seed(seed)
    return lk.models.MLP((1, 8, 8), 10, hidden=(8,))


# ----------------------------------------------------------------------------------------------
# section 1: minimum-norm and ridge fits


def test_min_norm_fit_interpolates_with_the_smallest_norm():
    g = torch.Generator().manual_seed(0)
    F_, Y = torch.randn(20, 50, generator=g, dtype=torch.float64), torch.randn(20, 3, generator=g, dtype=torch.float64)
    beta = cap.min_norm_fit(F_, Y)
    assert beta.dtype == torch.float64 and beta.shape == (50, 3)
    assert torch.allclose(F_ @ beta, Y, atol=1e-9)  # N > n: it interpolates
    # any other interpolating solution adds a null-space component and is longer
    null = torch.linalg.svd(F_, full_matrices=True).Vh[20:].T  # [50, 30], F null = 0
    other = beta + null @ torch.randn(30, 3, generator=g, dtype=torch.float64)
    assert torch.allclose(F_ @ other, Y, atol=1e-9) and other.norm() > beta.norm()
    # the solution lies in the row space of F (what gradient descent from zero reaches)
    assert torch.allclose(null.T @ beta, torch.zeros(30, 3, dtype=torch.float64), atol=1e-9)


def test_min_norm_fit_is_least_squares_below_the_threshold_and_ridge_matches_its_formula():
    g = torch.Generator().manual_seed(1)
    F_, Y = torch.randn(40, 10, generator=g, dtype=torch.float64), torch.randn(40, 2, generator=g, dtype=torch.float64)
    assert torch.allclose(cap.min_norm_fit(F_, Y), torch.linalg.solve(F_.T @ F_, F_.T @ Y), atol=1e-9)
    lam = 0.7
    direct = torch.linalg.solve(F_.T @ F_ + lam * torch.eye(10, dtype=torch.float64), F_.T @ Y)
    assert torch.allclose(cap.ridge_fit(F_, Y, lam), direct, atol=1e-9)
    assert torch.allclose(cap.ridge_fit(F_, Y, 1e-12), cap.min_norm_fit(F_, Y), atol=1e-6)
    assert torch.equal(cap.ridge_fit(F_, Y, 0.0), cap.min_norm_fit(F_, Y))


def test_random_features_are_relu_of_a_projection():
    X, W = torch.randn(5, 1, 4), torch.randn(4, 7)
    assert torch.allclose(cap.random_relu_features(X, W), torch.relu(X.flatten(1).double() @ W.double()))


def test_a_small_sweep_peaks_at_the_threshold_and_ridge_flattens_it(digits):
    train, test = digits
    sizes = [10, 25, 50, 90, 100, 110, 200, 400, 1000]
    plain = cap.feature_sweep(train, test, sizes, n_train=100, seeds=(0, 1))
    peak = cap.peak_summary(plain)
    assert 90 <= peak["peak_size"] <= 110 and peak["height"] > 0.1, peak
    assert plain.mean_train_error[list(plain.sizes).index(100):].max() == 0  # interpolation from N = n on
    flat = cap.peak_summary(cap.feature_sweep(train, test, sizes, n_train=100, seeds=(0, 1), ridge=10.0))
    assert flat["at_threshold"] < peak["at_threshold"] - 0.1, flat
    samplewise = cap.sample_sweep(train, test, [30, 100, 400], n_features=100, seeds=(0, 1))
    assert samplewise.mean_test_error[1] > samplewise.mean_test_error[0]  # more data hurts near n = N
    rows = plain.table()  # one row per seed and N, the same numbers as the arrays
    assert len(rows) == 2 * len(sizes) and set(rows["n_train"]) == {100} and list(rows["seed"][:1]) == [0]
    np.testing.assert_allclose(rows.groupby("n_features")["test_error"].mean().to_numpy(), plain.mean_test_error)
    assert list(samplewise.table()["n_train"][:3]) == [30, 100, 400] and set(samplewise.table()["n_features"]) == {100}


def test_width_sweep_gives_one_row_per_seed_and_width(digits):
    train, test = digits
    build = lambda w: lk.models.MLP((1, 8, 8), 10, hidden=(w,))  # noqa: E731
    sweep = cap.width_sweep(build, train, test, [4, 8], seeds=(0, 1), epochs=1, progress=False)
    assert sweep.train_error.shape == (2, 2) and sweep.seeds == [0, 1]
    rows = sweep.table()
    assert list(rows.columns) == ["seed", "width", "n_params", "train_error", "test_error"]
    assert rows["width"].tolist() == [4, 8, 4, 8] and rows["test_error"].tolist() == sweep.test_error.flatten().tolist()


# ----------------------------------------------------------------------------------------------
# section 2: subspace training


def test_subspace_net_equals_the_network_with_theta0_plus_p_theta_d():
    net = tiny_mlp()
    sub = cap.SubspaceNet(net, d=6, seed=3)
    assert [n for n, _ in sub.named_parameters()] == ["theta_d"] and sub.D == 64 * 8 + 8 + 8 * 10 + 10
    assert torch.allclose(sub.P.norm(dim=0), torch.ones(6))
    x, y = torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4])
    assert torch.allclose(sub(x), net(x), atol=1e-6)  # theta_d = 0: the initial network
    with torch.no_grad():
        sub.theta_d.copy_(torch.randn(6))
    # direct computation: write theta0 + P theta_d into a copy of the network by hand
    theta = torch.cat([p.detach().flatten() for p in net.parameters()]) + sub.P @ sub.theta_d.detach()
    direct = tiny_mlp()
    torch.nn.utils.vector_to_parameters(theta, direct.parameters())
    assert torch.allclose(sub(x), direct(x), atol=1e-5)
    assert torch.allclose(sub.to_network()(x), direct(x), atol=1e-5)
    # the gradient with respect to theta_d is P^T times the gradient with respect to theta
    F.cross_entropy(sub(x), y).backward()
    F.cross_entropy(direct(x), y).backward()
    g_theta = torch.cat([p.grad.flatten() for p in direct.parameters()])
    assert torch.allclose(sub.theta_d.grad, sub.P.T @ g_theta, atol=1e-5)


def test_fit_trains_only_theta_d(digits):
    train, _ = digits
    sub = cap.SubspaceNet(tiny_mlp(), d=20, seed=0)
    theta0, P = sub.theta0.clone(), sub.P.clone()
    lk.fit(sub, train, epochs=2, lr=0.1, progress=False, eval_every=0)
    assert torch.equal(sub.theta0, theta0) and torch.equal(sub.P, P) and sub.theta_d.abs().sum() > 0


def test_subspace_sweep_trains_each_d_and_d_int90_reads_it(digits):
    train, test = digits
    build = lambda: lk.models.MLP((1, 8, 8), 10, hidden=(16,))  # noqa: E731
    sweep = cap.subspace_sweep(build, train, test, [2, 200], seeds=(0, 1), epochs=3)
    assert sweep.accuracy.shape == (2, 2) and sweep.full_accuracy.shape == (2,)
    assert (sweep.accuracy[:, 1] > sweep.accuracy[:, 0] + 0.2).all()  # d = 2 cannot fit digits, 200 can
    assert sweep.d_int90() == 200 and sweep.measured_on == "test"
    rows = sweep.table()
    assert list(rows.columns) == ["seed", "d", "accuracy", "full_accuracy"] and len(rows) == 4
    assert rows["accuracy"].tolist() == sweep.accuracy.flatten().tolist()


def test_d_int90_is_the_smallest_d_reaching_the_fraction():
    assert cap.d_int90([10, 20, 40], [0.5, 0.85, 0.95], 0.95) == 40
    assert cap.d_int90([40, 10, 20], [0.95, 0.5, 0.86], 0.95) == 20
    assert cap.d_int90([10, 20], [0.1, 0.2], 1.0) is None


# ----------------------------------------------------------------------------------------------
# section 3: MIMO


def test_mimo_rows_are_independent_permutations_and_heads_see_their_own_inputs():
    rows = cap.mimo._tuples(10, 3, 2, torch.Generator().manual_seed(0))
    assert rows.shape == (20, 3)
    for e in range(2):
        for m in range(3):
            assert sorted(rows[10 * e:10 * (e + 1), m].tolist()) == list(range(10))
    assert not torch.equal(rows[:10, 0], rows[:10, 1])
    net = cap.MIMONet((1, 8, 8), 10, m=3, model="mlp", hidden=(16,))
    assert net(torch.rand(4, 3, 1, 8, 8)).shape == (4, 3, 10)
    one = cap.MIMONet((1, 8, 8), 10, m=1, model="mlp", hidden=(16,))
    assert one(torch.rand(4, 1, 8, 8)).shape == (4, 10)


def test_fit_mimo_learns_and_the_metrics_are_consistent(digits):
    train, test = digits
    lk.seed_everything(0)
    net = cap.MIMONet(train.input_shape, 10, m=2, model="mlp", hidden=(64,))
    cap.fit_mimo(net, train, epochs=5)
    probs = cap.mimo_proba(net, test.X)
    assert probs.shape == (2, len(test), 10) and torch.allclose(probs.sum(-1), torch.ones(2, len(test)))
    scores = cap.ensemble_metrics(probs, test.y)
    assert scores["member_accuracy"] > 0.7 and 0 <= scores["disagreement"] < 0.5
    assert scores["nll"] == pytest.approx(cap.nll(probs.mean(0), test.y))
    same = probs[:1].expand(2, -1, -1)
    assert cap.disagreement(same) == 0.0


# ----------------------------------------------------------------------------------------------
# section 4: block resets


def test_reset_block_replaces_only_that_block(digits):
    model = tiny_mlp()
    other = tiny_mlp(seed=5).state_dict()
    reset = cap.reset_block(model, "fc1", other)
    assert torch.equal(reset.blocks.fc1[1].weight, other["blocks.fc1.1.weight"])
    assert torch.equal(reset.blocks.head[0].weight, model.blocks.head[0].weight)
    train, test = digits
    r = cap.layer_robustness(lambda: lk.models.MLP((1, 8, 8), 10, hidden=(32, 32)), train, test, epochs=3,
                             early_steps=2)
    assert list(r.accuracy.index) == ["fc1", "fc2", "head"] and list(r.accuracy.columns) == list(cap.RESETS)
    assert (r.accuracy["re-randomise"] < r.trained).all()
    rows = r.table()  # one row per block and reset
    assert len(rows) == 9 and list(rows.columns) == ["block", "reset", "accuracy", "trained", "chance"]
    assert rows.set_index(["block", "reset"])["accuracy"]["fc2", "checkpoint"] == r.accuracy.loc["fc2", "checkpoint"]


# ----------------------------------------------------------------------------------------------
# widget and bad inputs


def test_widget_view_and_widget(digits):
    train, test = digits
    view = cap.double_descent_view(train, test, 0.2, 0.0, [20, 100, 400], n_train=100)
    assert "20%" in view.summary() and view.curve.label_noise == 0.2 and view.peak == cap.peak_summary(view.curve)
    assert len(cap.render_double_descent(view).axes) == 1
    box = cap.double_descent_widget(train, test, [20, 100, 400], n_train=100)
    assert box.view.ridge == 0.0
    box.children[0].children[1].value = 10.0
    assert box.view.ridge == 10.0


def test_bad_inputs_give_clear_errors(digits):
    train, test = digits
    with pytest.raises(ValueError, match="rows"):
        cap.min_norm_fit(torch.randn(5, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="ridge"):
        cap.ridge_fit(torch.randn(5, 3), torch.randn(5, 2), -1.0)
    with pytest.raises(ValueError, match="W must have shape"):
        cap.random_relu_features(torch.randn(5, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="n_train"):
        cap.feature_sweep(train, test, [10], n_train=10 ** 6)
    with pytest.raises(TypeError, match="labkit Data"):
        cap.feature_sweep(train.X, test, [10])
    with pytest.raises(ValueError, match="below"):
        cap.peak_summary(cap.feature_sweep(train, test, [90, 100], n_train=100, seeds=(0,)))
    with pytest.raises(ValueError, match="BatchNorm"):
        cap.SubspaceNet(lk.models.SmallCNN((1, 8, 8), 10, norm="batch"), d=3)
    with pytest.raises(ValueError, match="only D"):
        cap.subspace_sweep(lambda: tiny_mlp(), train, test, [10 ** 6])
    with pytest.raises(ValueError, match="takes x"):
        cap.MIMONet((1, 8, 8), 10, m=3, model="mlp")(torch.rand(4, 1, 8, 8))
    with pytest.raises(ValueError, match="built for"):
        cap.fit_mimo(cap.MIMONet((1, 40), 10, m=2, model="mlp"), train)
    with pytest.raises(ValueError, match="names no block"):
        cap.reset_block(tiny_mlp(), "conv9", tiny_mlp().state_dict())
    with pytest.raises(ValueError, match="at least two"):
        cap.disagreement(torch.rand(1, 4, 10))
