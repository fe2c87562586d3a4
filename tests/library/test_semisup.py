"""labkit.semisup: hiding labels, scikit-learn's semi-supervised estimators behind thin helpers
(``estimator=`` for self-training), the comparison over seeds and pseudo-labelling on the one loop."""
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import SelfTrainingClassifier

import labkit as lk
from labkit import semisup


def test_hide_labels_keeps_per_class_labels():
    y = np.repeat([0, 1, 2], 20)
    yp = semisup.hide_labels(y, 3, seed=0)
    assert (yp == -1).sum() == 51
    for c in range(3):
        assert ((yp == c) & (y == c)).sum() == 3 and ((yp == c) & (y != c)).sum() == 0
    assert (semisup.hide_labels(y, 3, seed=0) == yp).all() and not (semisup.hide_labels(y, 3, seed=1) == yp).all()
    with pytest.raises(ValueError, match="only 20"):
        semisup.hide_labels(y, 21)


def test_bars_cut_dense_clusters():
    bars = semisup.make_bars(400, seed=0)
    X, y = bars.X, bars.y
    assert list(bars.table().columns) == ["x0", "x1", "y"] and len(bars.table()) == 400
    assert set(np.unique(y)) == {0, 1} and (y == (X[:, 0] > 0)).all()
    assert np.abs(np.abs(X[:, 1]) - 1).max() < 0.5  # two bars at y = ±1


def test_self_training_uses_estimator_and_checks_it():
    model = semisup.self_training(LogisticRegression(), threshold=0.9)
    assert isinstance(model, SelfTrainingClassifier) and isinstance(model.estimator, LogisticRegression)
    with pytest.raises(TypeError, match="predict_proba"):
        semisup.self_training(object())


def test_fit_partial_gives_supervised_models_only_the_labels():
    moons = semisup.make_moons_arrays(100, seed=0)
    X, y = moons.X, moons.y
    yp = semisup.hide_labels(y, 2, seed=0)
    sup = semisup.fit_partial(LogisticRegression(), X, yp)
    direct = LogisticRegression().fit(X[yp >= 0], yp[yp >= 0])
    assert np.allclose(sup.coef_, direct.coef_)
    spread = semisup.fit_partial(semisup.label_spreading(), X, yp)
    assert spread.transduction_.shape == (100,)
    with pytest.raises(ValueError, match="no labels"):
        semisup.fit_partial(LogisticRegression(), X, np.full(100, -1))


def test_label_spreading_beats_supervised_on_moons_over_seeds():
    from sklearn.svm import SVC

    acc = semisup.compare_on(lambda n, s: semisup.make_moons_arrays(n, seed=s),
                             {"supervised": SVC(gamma=1.0), "spreading": semisup.label_spreading(gamma=20)},
                             per_class=3, seeds=range(4), n=200, n_test=300)
    assert acc.seeds == [0, 1, 2, 3] and acc.accuracy["spreading"].shape == (4,)
    assert acc.accuracy["spreading"].mean() > acc.accuracy["supervised"].mean() + 0.05
    table = acc.table()
    assert list(table.columns) == ["model", "seed", "accuracy"] and len(table) == 8
    assert (table[table.model == "spreading"].accuracy.to_numpy() == acc.accuracy["spreading"]).all()


def test_pseudo_label_runs_every_threshold():
    data = lk.data.load_digits()
    train, _, test = lk.data.train_val_test_split(data, val=0.0, test=0.3)
    build = lambda: lk.models.make_model("mlp", train, hidden=(16,))  # noqa: E731
    run = semisup.pseudo_label(build, train, test, per_class=2, thresholds=(0.0, 0.9, 1.0), seeds=[0, 1], steps=10)
    assert run.accuracy.shape == (3, 2) and run.added.shape == (3, 2)
    assert (run.added[0] == len(train) - 20).all() and (run.added[2] == 0).all()
    assert (run.added[0] >= run.added[1]).all()
    # no pseudo-labels: the retrained network is the teacher itself (same pool, same seed)
    assert np.allclose(run.accuracy[2], run.teacher)
    assert np.isnan(run.val_accuracy).all()
    table = run.table()
    assert len(table) == 6 and list(table.columns[:3]) == ["threshold", "seed", "added"]
    assert (table.accuracy.to_numpy() == run.accuracy.ravel()).all() and (table.seed.to_numpy() == [0, 1] * 3).all()
    with pytest.raises(ValueError, match="no validation split"):
        run.chosen()


def test_pseudo_label_chooses_the_threshold_on_the_validation_split():
    data = lk.data.load_digits()
    train, val, test = lk.data.train_val_test_split(data, val=0.2, test=0.3)
    build = lambda: lk.models.make_model("mlp", train, hidden=(16,))  # noqa: E731
    run = semisup.pseudo_label(build, train, test, val=val, per_class=2, thresholds=(0.0, 0.9, 1.0), seeds=[0],
                               steps=10)
    assert run.val_accuracy.shape == (3, 1) and np.isfinite(run.val_accuracy).all()
    assert run.chosen() == run.thresholds[int(np.argmax(run.val_accuracy[:, 0]))]
