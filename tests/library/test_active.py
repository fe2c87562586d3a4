"""labkit.active: every strategy against a direct slow computation on a tiny case, the closed-form
expected gradient length against per-example gradients, the rounds on the one loop (paired
subsets), curve summaries and the widget's pure logic; clear errors for bad inputs."""
import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

import labkit as lk
from labkit import active

P = torch.tensor([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25], [0.34, 0.33, 0.33], [0.9, 0.05, 0.05], [0.5, 0.5, 0.0]])


def test_uncertainty_scores_match_a_direct_computation():
    for i, row in enumerate(P.tolist()):
        top = sorted(row, reverse=True)
        assert active.least_confidence(P)[i] == pytest.approx(1 - top[0])
        assert active.margin(P)[i] == pytest.approx(-(top[0] - top[1]))
        assert active.entropy(P)[i] == pytest.approx(-sum(p * math.log(p) for p in row if p > 0), abs=1e-6)
    # the most uncertain row is the near-uniform one for every score; the surest is row 3
    for score in (active.least_confidence, active.entropy):
        assert int(score(P).argmax()) == 2 and int(score(P).argmin()) == 3
    assert int(active.margin(P).argmax()) == 4  # a tie between the top two: margin 0


def test_two_classes_make_the_three_uncertainty_scores_agree():
    p1 = torch.rand(50, generator=torch.Generator().manual_seed(0))
    probs = torch.stack([1 - p1, p1], 1)
    orders = [np.argsort(-f(probs).numpy(), kind="stable") for f in (active.least_confidence, active.margin,
                                                                       active.entropy)]
    assert all((o == orders[0]).all() for o in orders)


def test_expected_gradient_length_is_the_expected_last_layer_gradient_norm():
    torch.manual_seed(0)
    head = nn.Linear(6, 4)
    h = torch.randn(9, 6)
    probs = head(h).softmax(-1).detach()
    closed = active.expected_gradient_length(probs, h)
    # the expectation written out: one per-example gradient norm per possible label (L2's GraNd code)
    norms = torch.stack([lk.per_example_grad_norms(head, (h, torch.full((9,), k))) for k in range(4)], 1)
    assert torch.allclose(closed, (probs * norms).sum(1), atol=1e-5)
    # and a backward pass per example and label
    for i in range(3):
        total = 0.0
        for k in range(4):
            head.zero_grad()
            nn.functional.cross_entropy(head(h[i:i + 1]), torch.tensor([k])).backward()
            g = torch.cat([head.weight.grad.flatten(), head.bias.grad])
            total += float(probs[i, k]) * float(g.norm())
        assert float(closed[i]) == pytest.approx(total, rel=1e-5)


def test_information_density_and_top_b():
    h = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.95, 0.05], [0.0, 1.0]])
    s = torch.tensor([1.0, 1.0, 1.0, 1.0])
    dens = active.information_density(s, h)
    hn = torch.nn.functional.normalize(h, dim=1)
    assert torch.allclose(dens, (hn @ hn.T).mean(1))
    assert int(dens.argmin()) == 3  # the outlier
    assert list(active.top_b(torch.tensor([0.1, 0.9, 0.5, 0.9]), [1], 2)) == [3, 2]


def slow_kcenter(h, labelled, b):
    """k-center greedy written with plain loops."""
    h = h.numpy()
    lab, chosen = list(labelled), []
    for _ in range(b):
        best, best_d = None, -1.0
        for i in range(len(h)):
            if i in lab or i in chosen:
                continue
            d = min(np.linalg.norm(h[i] - h[j]) for j in lab + chosen)
            if d > best_d:
                best, best_d = i, d
        chosen.append(best)
    return chosen


def test_kcenter_greedy_matches_a_direct_computation():
    h = torch.randn(30, 3, generator=torch.Generator().manual_seed(1))
    for labelled, b in (([0], 5), ([3, 7, 11], 8)):
        assert list(active.kcenter_greedy(h, labelled, b)) == slow_kcenter(h, labelled, b)
    # nothing labelled: starts at the example nearest the mean, then greedy
    first = active.kcenter_greedy(h, np.zeros(30, bool), 3)
    assert first[0] == int((h - h.mean(0)).norm(dim=1).argmin())
    assert list(first[1:]) == slow_kcenter(h, [first[0]], 2)


def test_select_returns_distinct_unlabelled_indices_for_every_strategy():
    probs = torch.softmax(torch.randn(40, 3, generator=torch.Generator().manual_seed(2)), 1)
    feats = torch.randn(40, 5, generator=torch.Generator().manual_seed(3))
    labelled = np.arange(10)
    for strategy in active.STRATEGIES:
        idx = active.select(strategy, probs, labelled, 6, features=feats, rng=0)
        assert len(idx) == 6 and len(set(idx.tolist())) == 6 and not set(idx.tolist()) & set(labelled.tolist())
    # the scoring strategies pick exactly the top of their scores
    ent = active.entropy(probs).numpy()
    ent[labelled] = -np.inf
    assert set(active.select("entropy", probs, labelled, 6).tolist()) == set(np.argsort(-ent)[:6].tolist())


def test_bad_inputs_give_clear_errors():
    probs = torch.full((5, 2), 0.5)
    with pytest.raises(ValueError, match="only 2 unlabelled"):
        active.select("margin", probs, [0, 1, 2], 3)
    with pytest.raises(ValueError, match="unknown strategy"):
        active.select("magic", probs, [0], 1)
    with pytest.raises(ValueError, match="needs features"):
        active.select("coreset", probs, [0], 1)
    with pytest.raises(ValueError, match="probabilities"):
        active.entropy(torch.tensor([[2.0, -1.0]]))
    with pytest.raises(ValueError, match="outside"):
        active.select("random", probs, [7], 1)
    pool = lk.data.make_moons(40, seed=0)
    build = lambda: lk.models.make_model("mlp", pool, hidden=(8,))  # noqa: E731
    with pytest.raises(ValueError, match="pool has 40"):
        active.run_active(build, pool, pool, n_initial=10, batch=10, rounds=4, steps=2)


def test_fit_subsets_paired_trains_each_subset_with_its_own_seed():
    data = lk.data.make_moons(60, seed=0)
    build = lambda: lk.models.make_model("mlp", data, hidden=(8,))  # noqa: E731
    subsets = [np.arange(20), np.arange(20, 40), np.arange(20)]
    runs = lk.fit_subsets(build, data, subsets, seeds=[0, 0, 1], paired=True, steps=5, batch_size=8)
    assert runs.members == [(0, 0), (1, 0), (2, 1)]
    alone = lk.fit_subsets(build, data, [np.arange(20, 40)], seeds=[0], steps=5, batch_size=8)
    assert torch.allclose(runs.predict_logits(data.X)[1], alone.predict_logits(data.X)[0], atol=1e-5)
    with pytest.raises(ValueError, match="one seed per subset"):
        lk.fit_subsets(build, data, subsets, seeds=[0, 1], paired=True, steps=2)


def test_run_active_grows_each_pool_by_its_own_queries():
    pool, test = lk.data.make_moons(120, seed=0), lk.data.make_moons(200, seed=1)
    build = lambda: lk.models.make_model("mlp", pool, hidden=(16,))  # noqa: E731
    run = active.run_active(build, pool, test, strategies=["random", "margin", "coreset"], seeds=[0, 1],
                            n_initial=6, batch=4, rounds=3, steps=20, batch_size=16)
    assert run.accuracy.shape == (3, 2, 4) and list(run.labels) == [6, 10, 14, 18]
    for (_, s), steps in run.pools.items():
        everything = np.concatenate(steps)
        assert len(steps) == 4 and len(everything) == 18 and len(set(everything.tolist())) == 18
        assert (steps[0] == run.pools["random", s][0]).all()  # a seed's strategies share the initial set
    # round 0 trains the same pool with the same seed for every strategy: the same accuracy
    assert np.allclose(run.accuracy[:, :, 0], run.accuracy[0, :, 0])
    assert ((run.accuracy >= 0) & (run.accuracy <= 1)).all()
    for s in (0, 1):  # the initial set of a seed is that seed's initial_pool
        assert (run.pools["margin", s][0] == active.initial_pool(pool.y.numpy(), 6, s)).all()
    table = run.table()
    assert list(table.columns) == ["strategy", "seed", "round", "labels", "accuracy"] and len(table) == 3 * 2 * 4
    assert (table.accuracy.to_numpy() == run.accuracy.ravel()).all()
    assert (table.labels.to_numpy()[:4] == run.labels).all()


def test_area_and_labels_to_reach():
    labels = np.array([10, 20, 30])
    assert active.area_under_curve(labels, [0.5, 0.7, 0.9]) == pytest.approx(0.7)
    assert active.area_under_curve(labels, np.array([[0.5, 0.5, 0.5], [1, 1, 1]])) == pytest.approx([0.5, 1.0])
    assert active.labels_to_reach(labels, [0.5, 0.7, 0.9], 0.8) == pytest.approx(25.0)
    assert active.labels_to_reach(labels, [0.5, 0.7, 0.9], 0.4) == 10
    assert math.isnan(active.labels_to_reach(labels, [0.5, 0.7, 0.9], 0.95))
    with pytest.raises(ValueError, match="increase"):
        active.area_under_curve([10, 10, 30], [0.5, 0.7, 0.9])
    X = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert active.batch_spread(X, [0, 1, 2]) == pytest.approx((5 + 10 + 5) * 2 / 6)
    assert active.batch_classes([0, 1, 1, 2], [1, 2]) == 1


def test_moons_view_and_widget():
    data = active.moons_rounds(strategies=("random", "margin"), n=80, n_test=100, rounds=2, steps=10, grid=12)
    view = active.active_view(data, "margin", 1)
    steps = data.run.pools["margin", 0]
    assert set(view.labelled.tolist()) == set(np.concatenate(steps[:2]).tolist())
    assert (view.queried == steps[2]).all() and len(view.accuracy) == 2
    assert len(active.active_view(data, "margin", 2).queried) == 0  # nothing queried after the last round
    assert data.grid_probs["margin"].shape == (3, 12, 12)
    assert data.table().equals(data.run.table()) and len(data.table()) == 2 * 3
    with pytest.raises(ValueError, match="round must be"):
        active.active_view(data, "margin", 3)
    box = active.active_widget(data)
    assert box.view.strategy == "random" and box.view.round == 0
    box.children[0].children[1].value = 2
    assert box.view.round == 2 and len(box.view.labelled) == len(view.labelled) + 4


def test_every_pair_in_product_mode_is_unchanged():
    data = lk.data.make_moons(40, seed=0)
    build = lambda: lk.models.make_model("mlp", data, hidden=(4,))  # noqa: E731
    runs = lk.fit_subsets(build, data, [np.arange(20), np.arange(20, 40)], seeds=[0, 1], steps=2, batch_size=8)
    assert runs.members == list(itertools.product(range(2), [0, 1]))
