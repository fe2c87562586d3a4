import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import labkit as lk
from labkit.data import Data


@pytest.fixture(scope="module")
def digits():
    return lk.data.load_digits()


def test_digits(digits):
    assert digits.X.shape == (1797, 1, 8, 8) and digits.X.dtype == torch.float32
    assert 0.0 <= float(digits.X.min()) and float(digits.X.max()) == 1.0
    assert sorted(digits.y.unique().tolist()) == list(range(10)) and digits.n_classes == 10


def test_moons_and_blobs():
    m = lk.data.make_moons(300, seed=1)
    assert m.X.shape == (300, 2) and m.n_classes == 2
    assert torch.equal(m.X, lk.data.make_moons(300, seed=1).X)
    b = lk.data.make_blobs(200, centers=4, seed=0)
    assert b.n_classes == 4 and b.X.shape == (200, 2)


def _centroid_quadrant(img):
    rows, cols = img[0].nonzero(as_tuple=True)
    h = img.shape[-1] / 2
    return int(rows.float().mean() >= h) * 2 + int(cols.float().mean() >= h)


def test_stars_moons_follow_the_location_rule():
    data = lk.data.make_stars_moons(400, size=32, rule=1.0, seed=0)
    assert data.X.shape == (400, 1, 32, 32) and set(data.X.unique().tolist()) <= {0.0, 1.0}
    assert data.meta["obeys_rule"].all()
    for img, label, q in zip(data.X, data.y, data.meta["quadrant"]):
        assert int(q) in lk.data.RULE_QUADRANTS[int(label)]
        assert _centroid_quadrant(img) == int(q)  # the shape really is drawn in that quadrant


def test_stars_moons_rule_fraction_and_ood():
    data = lk.data.make_stars_moons(2000, size=24, rule=0.7, seed=1)
    assert abs(data.meta["obeys_rule"].float().mean().item() - 0.7) < 0.04
    ood = lk.data.make_stars_moons(400, size=24, ood=True, seed=2)
    assert (ood.meta["quadrant"] == -1).all()
    quads = torch.tensor([_centroid_quadrant(img) for img in ood.X])
    for label in (0, 1):  # at random positions, each class shows up in every quadrant
        assert len(quads[ood.y == label].unique()) == 4
    assert abs(ood.y.float().mean().item() - 0.5) < 0.01


def test_stars_and_moons_differ_in_shape():
    data = lk.data.make_stars_moons(200, size=32, seed=3)
    area = data.X.sum((1, 2, 3))
    assert area.min() > 5  # every image holds a shape


def test_waterbirds_spurious_correlation():
    data = lk.data.make_waterbirds(600, size=24, spurious=0.9, seed=0)
    assert data.X.shape == (600, 3, 24, 24) and 0 <= data.X.min() and data.X.max() <= 1
    agree = (data.meta["background"] == data.y).float().mean().item()
    assert abs(agree - 0.9) < 0.04
    assert torch.equal(data.meta["group"], 2 * data.y + data.meta["background"])
    water = data.X[data.meta["background"] == 1][:, 2].mean()
    land = data.X[data.meta["background"] == 0][:, 2].mean()
    assert water > land + 0.2  # water backgrounds are bluer


def test_splits_are_deterministic_disjoint_and_stratified(digits):
    a = lk.data.train_val_test_split(digits, val=0.2, test=0.2, seed=3)
    b = lk.data.train_val_test_split(digits, val=0.2, test=0.2, seed=3)
    for x, y in zip(a, b):
        assert torch.equal(x.X, y.X) and torch.equal(x.y, y.y)
    assert sum(len(s) for s in a) == len(digits)
    assert abs(len(a.test) - 0.2 * len(digits)) <= 1
    keys = [{tuple(x.flatten().tolist()) for x in s.X} for s in a]
    assert not (keys[0] & keys[2]) or len(keys[0] & keys[2]) < 5  # digits holds a few duplicate images
    counts = torch.bincount(a.test.y, minlength=10).float() / len(a.test)
    assert (counts - torch.bincount(digits.y).float() / len(digits)).abs().max() < 0.02
    c = lk.data.train_val_test_split(digits, val=0.2, test=0.2, seed=4)
    assert not torch.equal(a.test.y, c.test.y)
    no_val = lk.data.train_val_test_split(digits, val=0.0, test=0.25)
    assert no_val.val is None and len(no_val.train) + len(no_val.test) == len(digits)


@pytest.mark.parametrize("val,test", [(0.5, 0.5), (-0.1, 0.2), (0.1, 0.0), (0.1, 1.2)])
def test_bad_split_fractions(digits, val, test):
    with pytest.raises(ValueError):
        lk.data.train_val_test_split(digits, val=val, test=test)


def test_label_noise_flips_exactly_and_never_to_the_same_class(digits):
    noisy = lk.data.add_label_noise(digits, 0.1, seed=0)
    flipped = noisy.meta["flipped"]
    assert int(flipped.sum()) == round(0.1 * len(digits))
    assert torch.equal(flipped, noisy.y != digits.y)
    assert torch.equal(noisy.meta["clean_y"], digits.y)
    assert torch.equal(noisy.X, digits.X)
    assert torch.equal(lk.data.add_label_noise(digits, 0.1, seed=0).y, noisy.y)
    assert int(lk.data.add_label_noise(digits, 0.0).meta["flipped"].sum()) == 0


def test_subset_keeps_meta_aligned(digits):
    noisy = lk.data.add_label_noise(digits, 0.2, seed=1)
    sub = noisy.subset(noisy.meta["flipped"])
    assert len(sub) == int(noisy.meta["flipped"].sum()) and sub.meta["flipped"].all()
    assert (sub.y != sub.meta["clean_y"]).all()
    with pytest.raises(ValueError, match="empty"):
        noisy.subset(torch.zeros(len(noisy), dtype=torch.bool))


def test_patch_shortcut_marks_the_label_slot(digits):
    small = digits.subset(torch.arange(200))
    cued = lk.data.inject_shortcut(small, "patch", p=1.0, patch_size=2)
    assert torch.equal(cued.meta["cue"], small.y) and cued.meta["cue_is_label"].all()
    slots = lk.data.transforms._patch_positions(8, 8, 2)
    for img, label in zip(cued.X, cued.y):
        r, c = slots[int(label)]
        assert (img[0, r:r + 2, c:c + 2] == 1).all()
    changed = (cued.X != small.X).flatten(1).any(1)
    assert changed.float().mean() > 0.9


def test_shortcut_strength_p(digits):
    cued = lk.data.inject_shortcut(digits, "colour", p=0.6, seed=0)
    expected = 0.6 + 0.4 / 10  # random cues hit the label by chance one time in ten
    assert abs(cued.meta["cue_is_label"].float().mean().item() - expected) < 0.04
    assert cued.X.shape == (len(digits), 3, 8, 8)
    ood = lk.data.shortcut_ood(digits, "colour", "shuffle", seed=1)
    assert abs(ood.meta["cue_is_label"].float().mean().item() - 0.1) < 0.03
    removed = lk.data.shortcut_ood(digits, "colour", "remove")
    assert torch.allclose(removed.X[:, 0], removed.X[:, 1]) and torch.allclose(removed.X[:, 1], removed.X[:, 2])


def test_location_shortcut_places_the_digit(digits):
    small = digits.subset(torch.arange(50))
    cued = lk.data.inject_shortcut(small, "location", p=1.0)
    assert cued.X.shape == (50, 1, 16, 16)
    offsets = lk.data.transforms._location_offsets(8, 8, 10)
    for img, orig, label in zip(cued.X, small.X, small.y):
        r, c = offsets[int(label)]
        assert torch.equal(img[:, r:r + 8, c:c + 8], orig)
        assert img.sum() == orig.sum()


def test_shortcut_errors(digits):
    with pytest.raises(ValueError, match="unknown shortcut kind"):
        lk.data.inject_shortcut(digits, "sound", 0.5)
    with pytest.raises(ValueError, match="p must be in"):
        lk.data.inject_shortcut(digits, "patch", 1.5)
    with pytest.raises(ValueError, match="border slots"):
        lk.data.inject_shortcut(digits, "patch", 1.0, patch_size=4)
    with pytest.raises(ValueError, match="images"):
        lk.data.inject_shortcut(lk.data.make_moons(50), "patch", 1.0)


def test_data_validation_messages():
    X = torch.rand(10, 4)
    with pytest.raises(ValueError, match="NaN"):
        Data(torch.full((10, 4), float("nan")), torch.zeros(10))
    with pytest.raises(ValueError, match="empty"):
        Data(torch.rand(0, 4), torch.zeros(0))
    with pytest.raises(ValueError, match="must match"):
        Data(X, torch.zeros(9))
    with pytest.raises(ValueError, match="negative"):
        Data(X, -torch.ones(10))
    with pytest.raises(TypeError, match="integer class labels"):
        Data(X, torch.full((10,), 0.5))
    with pytest.raises(ValueError, match="dimensions"):
        Data(torch.rand(10), torch.zeros(10))
    with pytest.raises(ValueError, match="class names"):
        Data(X, torch.arange(10), classes=["a", "b"])
    with pytest.raises(TypeError, match="numeric"):
        Data(np.array([["a"]] * 10), np.zeros(10))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 5), k=st.integers(1, 6), bad=st.sampled_from(["nan", "inf", "label", "none"]))
def test_data_accepts_valid_and_rejects_invalid(n, d, k, bad):
    X = np.random.rand(n, d).astype(np.float32)
    y = np.random.randint(0, k, size=n)
    if bad == "nan":
        X[0, 0] = np.nan
    elif bad == "inf":
        X[-1, -1] = np.inf
    elif bad == "label":
        y[0] = -3
    if bad == "none":
        data = Data(X, y, classes=[str(i) for i in range(k)])
        assert len(data) == n and data.input_shape == (d,)
    else:
        with pytest.raises(ValueError):
            Data(X, y)


def test_quick_run_generates_fewer_examples_of_large_images(monkeypatch):
    monkeypatch.setenv("LABKIT_QUICK", "1")
    assert len(lk.data.make_moons(5000)) == lk.runtime.QUICK_EXAMPLES
    big = lk.data.make_stars_moons(6000, size=200)
    assert len(big) == max(16, lk.runtime.QUICK_VALUES // (200 * 200)) and set(big.y.tolist()) == {0, 1}
    assert len(lk.data.make_stars_moons(6000, size=32)) == lk.runtime.QUICK_EXAMPLES
    monkeypatch.setenv("LABKIT_QUICK", "0")
    assert len(lk.data.make_stars_moons(300, size=200)) == 300
