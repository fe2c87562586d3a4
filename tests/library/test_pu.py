"""labkit.pu: the Elkan–Noto classifier as a scikit-learn estimator (c_, e1–e3, clipped
probabilities, clone), its input checks, the labelling schemes and the experiments' helpers."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from labkit import pu


class Constant:
    """A stand-in g with known probabilities: p(s = 1 | x) = x[:, 0]."""

    def fit(self, X, s):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        return np.c_[1 - X[:, 0], X[:, 0]]

    def get_params(self, deep=True):
        return {}

    def set_params(self, **p):
        return self


def test_c_estimates_by_hand():
    g = np.array([0.4, 0.6, 0.2, 0.1])
    s = np.array([1, 1, 0, 0])
    est = pu.c_estimates(g, s)
    assert est["e1"] == pytest.approx(0.5) and est["e2"] == pytest.approx(1.0 / 1.3) and est["e3"] == 0.6


def test_predict_proba_is_g_over_c_clipped():
    X = np.c_[np.linspace(0.0, 0.8, 200)]
    s = (X[:, 0] > 0.5).astype(int)
    model = pu.ElkanNotoClassifier(Constant(), hold_out=0.5, random_state=0).fit(X, s)
    assert 0.5 < model.c_ <= 0.8
    p = model.predict_proba(X)
    assert p.shape == (200, 2) and np.allclose(p.sum(1), 1)
    assert np.allclose(p[:, 1], np.clip(X[:, 0] / model.c_, 0, 1))
    assert p[:, 1].max() == 1.0 and (p >= 0).all()  # g/c > 1 is clipped
    assert (model.predict(X) == (X[:, 0] / model.c_ > 0.5)).all()


def test_is_a_scikit_learn_estimator():
    model = pu.ElkanNotoClassifier(LogisticRegression(), hold_out=0.2, random_state=3)
    copy = clone(model)
    assert copy.get_params()["hold_out"] == 0.2 and copy.get_params()["random_state"] == 3
    data = pu.gaussian_classes(600, 4.0, seed=0)
    X, y = data.X, data.y
    assert list(data.table().columns) == ["x0", "x1", "y"] and len(data.table()) == 600
    s = pu.label_scar(y, 0.5, seed=0)
    a = model.fit(X, s).c_
    assert clone(model).fit(X, s).c_ == a  # the same split and fit from the same parameters
    assert list(model.classes_) == [0, 1] and not hasattr(copy, "c_")


def test_bad_labels_give_clear_errors():
    X = np.zeros((6, 2))
    with pytest.raises(ValueError, match="only 1 .labelled positive. and 0"):
        pu.ElkanNotoClassifier().fit(X, [0, 1, 2, 0, 1, 0])
    with pytest.raises(ValueError, match="no labelled positives"):
        pu.ElkanNotoClassifier().fit(X, np.zeros(6))
    with pytest.raises(ValueError, match="no unlabelled"):
        pu.ElkanNotoClassifier().fit(X, np.ones(6))
    with pytest.raises(ValueError, match="6 rows"):
        pu.ElkanNotoClassifier().fit(X, [0, 1])
    with pytest.raises(ValueError, match="hold_out"):
        pu.ElkanNotoClassifier(hold_out=1.5).fit(X, [0, 1, 1, 0, 1, 0])
    with pytest.raises(TypeError, match="predict_proba"):
        pu.ElkanNotoClassifier(object()).fit(np.random.default_rng(0).normal(size=(20, 2)), [1, 0] * 10)


def test_labelling_schemes():
    data = pu.gaussian_classes(20000, 4.0, seed=0)
    X, y = data.X, data.y
    s = pu.label_scar(y, 0.3, seed=0)
    assert (s[y == 0] == 0).all() and s[y == 1].mean() == pytest.approx(0.3, abs=0.02)
    sx = pu.label_by_x(X, y, 0.3, seed=0)
    assert (sx[y == 0] == 0).all() and sx[y == 1].mean() == pytest.approx(0.3, abs=0.03)
    pos = y == 1
    # labelled positives lie further into the positive side than the unlabelled ones
    assert X[pos & (sx == 1), 0].mean() > X[pos & (sx == 0), 0].mean() + 0.5
    assert abs(X[pos & (s == 1), 0].mean() - X[pos & (s == 0), 0].mean()) < 0.1


def test_c_estimate_is_close_on_separated_classes():
    out = pu.c_sweep([0.3, 0.7], separation=6.0, seeds=[0], n=3000)
    assert np.abs(out.e1[:, 0] - np.array([0.3, 0.7])).max() < 0.04
    assert out.e1.shape == (2, 1) and (out.e3 >= out.e1).all()
    table = out.table()
    assert list(table.columns) == ["c", "seed", "e1", "e2", "e3", "labelled"] and list(table.c) == [0.3, 0.7]
    assert (table.e1.to_numpy() == out.e1[:, 0]).all() and (table.labelled.to_numpy() == out.labelled[:, 0]).all()


def test_naive_vs_corrected_and_near_copies():
    train, test = pu.gaussian_classes(3000, 4.0, seed=0), pu.gaussian_classes(3000, 4.0, seed=1)
    out = pu.naive_vs_corrected(train.X, pu.label_scar(train.y, 0.4, seed=0), test.X, test.y)
    assert out.corrected["accuracy"] > out.naive["accuracy"] + 0.1
    assert out.naive["predicted_positive"] < out.corrected["predicted_positive"]
    assert out.true_positive_rate == pytest.approx(test.y.mean()) and 0 < out.c < 1
    table = out.table()
    assert list(table.index) == ["naive", "corrected"] and table.loc["corrected", "accuracy"] == out.corrected["accuracy"]
    assert (table.c == out.c).all()
    X = train.X
    Z = pu.near_copies(X, copies=3)
    assert Z.shape == (3000, 5) and np.corrcoef(Z[:, 0], Z[:, 4])[0, 1] > 0.99
