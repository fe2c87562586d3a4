"""labkit.randconv: PPV against a direct computation, the vectorised transform against the per-kernel
loop (1-D and 2-D, several channels), the scikit-learn API, data-driven biases, bad inputs; and
Cylinder-Bell-Funnel from its formula."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone

import labkit as lk
from labkit import randconv as rc


def test_ppv_against_a_direct_count():
    g = np.random.default_rng(0)
    z = g.standard_normal((7, 5, 13))
    z[0, 0, :4] = 0.0  # zeros are not positive
    direct = np.array([[np.sum(z[i, j] > 0) / 13 for j in range(5)] for i in range(7)])
    np.testing.assert_allclose(rc.ppv(z).numpy(), direct, rtol=1e-6)
    assert rc.ppv(torch.tensor([0.0, 1.0, -1.0, 2.0])).item() == 0.5
    assert rc.ppv(torch.ones(2, 3, 4), dim=(1, 2)).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="empty"):
        rc.ppv(torch.zeros(0))


@pytest.mark.parametrize("shape,k", [((30, 1, 40), 9), ((20, 3, 25), 5), ((25, 1, 8, 8), 3), ((12, 2, 9, 7), 3)])
def test_vectorised_transform_equals_the_per_kernel_loop(shape, k, monkeypatch):
    X = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    f = rc.RandomConvFeatures(n_kernels=23, kernel_size=k, pooling=("ppv", "max", "mean"), random_state=3,
                              batch_size=7).fit(X)
    A, B = f.transform(X), f.transform_per_kernel(X)
    assert A.shape == (shape[0], 69) and f.n_features_out_ == 69
    np.testing.assert_allclose(A, B, atol=1e-5)
    # blocks of 2 examples inside each batch of 7 (as 10,000 kernels on MNIST-1D get), the last one short
    monkeypatch.setattr(rc.RandomConvFeatures, "_block", staticmethod(lambda positions, kernels: 2))
    np.testing.assert_allclose(f.transform(X), B, atol=1e-5)


def test_features_against_a_direct_conv():
    X = np.random.default_rng(2).standard_normal((5, 1, 40)).astype(np.float32)
    f = rc.RandomConvFeatures(n_kernels=8, random_state=0, n_dilations=2).fit(X)
    feats = f.transform(X)
    w, d, b = f.weights_[-1][0], f.dilations_[-1], f.biases_[-1][0]
    z = F.conv1d(torch.from_numpy(X), w[None], dilation=d, padding=4 * d)[:, 0] - b
    j = 8 - len(f.weights_[-1])  # the first kernel of the last dilation
    np.testing.assert_allclose(feats[:, j], (z > 0).float().mean(1).numpy(), atol=1e-6)
    np.testing.assert_allclose(feats[:, 8 + j], z.amax(1).numpy(), atol=1e-5)
    assert f.dilations_ == sorted(set(f.dilations_)) and f.dilations_[0] == 1
    assert all(abs(float(w.sum())) < 1e-4 for ws in f.weights_ for w in ws)  # centred kernels


def test_biases_come_from_the_data_so_ppv_is_informative():
    train, _, _ = lk.data.load_mnist1d(n_train=200, n_test=10)
    X = train.X.numpy()
    feats = rc.RandomConvFeatures(n_kernels=200, pooling="ppv", random_state=0).fit_transform(X)
    assert 0.2 < feats.mean() < 0.8 and feats.std(0).mean() > 0.05


def test_sklearn_api_and_random_state():
    X = np.random.default_rng(0).standard_normal((10, 40)).astype(np.float32)  # [N, L] is one channel
    f = rc.RandomConvFeatures(n_kernels=12, random_state=5)
    assert f.get_params()["n_kernels"] == 12 and clone(f).get_params() == f.get_params()
    a, b = f.fit(X).transform(X), clone(f).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    c = rc.RandomConvFeatures(n_kernels=12, random_state=6).fit(X).transform(X)
    assert not np.allclose(a, c)


def test_bad_inputs_say_what_is_wrong():
    X = np.zeros((4, 1, 40), np.float32)
    with pytest.raises(ValueError, match="n_kernels"):
        rc.RandomConvFeatures(n_kernels=0).fit(X)
    with pytest.raises(ValueError, match="pooling"):
        rc.RandomConvFeatures(pooling=("median",)).fit(X)
    with pytest.raises(ValueError, match="kernel_size"):
        rc.RandomConvFeatures(kernel_size=50).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        rc.RandomConvFeatures().fit(np.full((3, 1, 40), np.nan))
    with pytest.raises(ValueError, match=r"\[N, L\]"):
        rc.RandomConvFeatures().fit(np.zeros(5))
    f = rc.RandomConvFeatures(n_kernels=4).fit(X)
    with pytest.raises(ValueError, match="1-D inputs"):
        f.transform(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="channels"):
        f.transform(np.zeros((2, 3, 40)))
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        rc.RandomConvFeatures().transform(X)


def test_pipeline_separates_an_easy_problem():
    train, _, test = lk.data.make_cbf(n_train=60, n_test=90, seed=1)
    sweep = rc.accuracy_by_kernels(train, test, [200], random_state=0)
    rows = sweep.table()
    assert isinstance(sweep, rc.KernelSweep) and list(rows.columns) == ["kernels", "accuracy", "transform s", "examples"]
    assert rows["accuracy"][0] > 0.9 and rows["transform s"][0] > 0


def test_cbf_follows_its_formula():
    train, val, test = lk.data.make_cbf(n_train=300, n_test=3, length=128, seed=0)
    assert val is None and train.X.shape == (300, 1, 128) and train.classes == ["cylinder", "bell", "funnel"]
    assert np.bincount(train.y.numpy()).tolist() == [100, 100, 100]
    x, y = train.X[:, 0].numpy(), train.y.numpy()
    # before t = 16 every series is noise only; inside the event the classes differ by their shape
    assert abs(x[:, :15].mean()) < 0.05 and 0.9 < x[:, :15].std() < 1.1
    mid = x[:, 40:44].mean(1)  # t = 41..44 lies in [a, b] for every series
    assert mid[y == 0].mean() > 5 and 0 < mid[y == 1].mean() < mid[y == 2].mean()
    assert lk.data.make_cbf(seed=3).train.X.equal(lk.data.make_cbf(seed=3).train.X)
    with pytest.raises(ValueError, match="n_train"):
        lk.data.make_cbf(n_train=0)


def test_pooling_ablation_fits_each_pooling_on_the_same_kernels():
    train, _, test = lk.data.make_cbf(n_train=60, n_test=120, seed=0)
    ablation = rc.pooling_ablation(train, test, n_kernels=50, seeds=[3, 4])
    rows = ablation.table()
    assert isinstance(ablation, rc.PoolingAblation) and list(rows.columns) == ["seed", "pooling", "accuracy"]
    assert list(zip(rows["seed"], rows["pooling"])) == [(s, p) for s in (3, 4) for p in ("ppv", "max", "ppv + max")]
    both = rc.accuracy_by_kernels(train, test, [50], random_state=3).rows["accuracy"][0]
    assert rows["accuracy"][2] == pytest.approx(both)  # "ppv + max" is the usual pipeline
    ppv = rc.accuracy_by_kernels(train, test, [50], random_state=3, pooling=("ppv",)).rows["accuracy"][0]
    assert rows["accuracy"][0] == pytest.approx(ppv)
