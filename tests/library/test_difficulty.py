"""labkit.difficulty: every score against a direct, slow computation on a tiny case; the label-error
finder, pruning, seed agreement, the architecture probe and the widget's selection logic."""
import copy
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import labkit as lk
from labkit import difficulty as dif
from labkit.results import Result

EPOCHS, BATCH, EARLY, K = 4, 16, 1, 5


@pytest.fixture(scope="module")
def tiny():
    data = lk.data.load_digits()
    data = data.subset(torch.arange(70))
    return lk.data.add_label_noise(data, 0.1, seed=1)


def build_mlp(data):
    return lambda: lk.models.MLP(data.input_shape, data.n_classes, hidden=(16, 12))


class Recorder:
    """Keeps every training step's batch indices, logits and epoch, and copies of the model at
    chosen steps (the direct computation below replays them in plain Python)."""

    def __init__(self, save_steps):
        self.steps, self.save_steps, self.saved = [], set(save_steps), {}

    def __call__(self, state):
        self.steps.append((state.index.tolist(), state.logits.clone(), state.epoch))
        if state.step in self.save_steps:
            self.saved[state.step] = copy.deepcopy(state.model).eval()


def direct_scores(build, data, seed, early_step, vog_steps, k):
    """Every score for one seed, the slow way: lk.fit with a recorder, then loops over examples."""
    lk.seed_everything(seed)
    model = build()
    rec = Recorder({early_step, *vog_steps})
    lk.fit(model, data, epochs=EPOCHS, batch_size=BATCH, seed=seed, callbacks=[rec], eval_every=0)
    model.eval()
    N, y = len(data), data.y.tolist()
    losses, margins, history, last_wrong = [[] for _ in range(N)], [[] for _ in range(N)], [[] for _ in range(N)], [0.0] * N
    for index, logits, epoch in rec.steps:
        for j, i in enumerate(index):
            p = torch.softmax(logits[j].double(), 0).tolist()
            losses[i].append(-math.log(p[y[i]]))
            margins[i].append(p[y[i]] - max(q for c, q in enumerate(p) if c != y[i]))
            correct = max(range(len(p)), key=lambda c: p[c]) == y[i]
            history[i].append(correct)
            if not correct:
                last_wrong[i] = epoch
    out = {"loss": [np.mean(v) for v in losses], "margin": [np.mean(v) for v in margins]}
    forgetting = []
    for h in history:
        if not any(h):
            forgetting.append(len(h))
        else:
            forgetting.append(sum(1 for a, b in zip(h[:-1], h[1:]) if a and not b))
    out["forgetting"] = forgetting
    out["learned_epoch"] = [last_wrong[i] if history[i][-1] else EPOCHS for i in range(N)]
    early = rec.saved[early_step]
    el2n, grand = [], []
    for i in range(N):
        x, t = data.X[i:i + 1], data.y[i:i + 1]
        p = torch.softmax(early(x)[0], 0)
        el2n.append(torch.sqrt(((p - F.one_hot(t[0], data.n_classes)) ** 2).sum()).item())
        params = [q for q in early.parameters()]
        g = torch.autograd.grad(F.cross_entropy(early(x), t), params)
        grand.append(math.sqrt(sum(float((v ** 2).sum()) for v in g)))
    out["el2n"], out["grand"] = el2n, grand
    grads = []  # [C][N] flattened input gradients
    for step in sorted(vog_steps):
        m = rec.saved[step]
        per = []
        for i in range(N):
            x = data.X[i:i + 1].clone().requires_grad_(True)
            m(x)[0, y[i]].backward()
            per.append(x.grad.flatten().numpy().astype(np.float64))
        grads.append(per)
    raw = []
    for i in range(N):
        G = np.stack([grads[c][i] for c in range(len(grads))])  # [C, pixels]
        # Agarwal et al.: each pixel's standard deviation over the K checkpoints, then the pixel mean
        raw.append(np.mean(np.sqrt(((G - G.mean(0)) ** 2).sum(0) / len(G))))
    raw = np.array(raw)
    vog = np.zeros(N)
    for c in set(y):
        members = [i for i in range(N) if y[i] == c]
        vals = raw[members]
        sd = vals.std()
        for i in members:
            vog[i] = (raw[i] - vals.mean()) / (sd if sd > 0 else 1.0)
    out["vog"] = vog
    out["depth"] = direct_depth(model, data, k)
    return out


def direct_knn(feats, labels, k, n_classes):
    """Leave-one-out k-NN with plain loops; ties in the vote go to the smallest class."""
    preds = []
    for i in range(len(feats)):
        d = [(float(np.sum((feats[i] - feats[j]) ** 2)), j) for j in range(len(feats)) if j != i]
        d.sort()
        votes = [0] * n_classes
        for _, j in d[:k]:
            votes[labels[j]] += 1
        preds.append(max(range(n_classes), key=lambda c: (votes[c], -c)))
    return preds


def direct_depth(model, data, k):
    with torch.no_grad():
        outs = model.block_outputs(data.X, flatten=True)
        final = model(data.X).argmax(1).tolist()
    layers = [data.X.flatten(1).numpy()] + [v.numpy() for n, v in outs.items() if n != "head"]
    probes = [direct_knn(f.astype(np.float64), data.y.tolist(), k, data.n_classes) for f in layers]
    depth = []
    for i in range(len(data)):
        d = len(layers)
        for layer in range(len(layers) - 1, -1, -1):
            if probes[layer][i] == final[i]:
                d = layer
            else:
                break
        depth.append(d)
    return depth


@pytest.fixture(scope="module")
def computed(tiny):
    build = build_mlp(tiny)
    kw = dict(seeds=[0, 3], epochs=EPOCHS, batch_size=BATCH, early_epoch=EARLY, vog_checkpoints=2, k=K)
    together = dif.compute_scores(build, tiny, **kw)
    # one seed per run: the rows of the run that trained both seeds at once must equal these
    alone = [dif.compute_scores(build, tiny, **{**kw, "seeds": [s]}) for s in kw["seeds"]]
    sequential = dataclasses.replace(
        alone[0], seeds=kw["seeds"], models=[a.models for a in alone],
        per_seed={k: np.concatenate([a.per_seed[k] for a in alone]) for k in alone[0].per_seed},
        learned_epoch=np.concatenate([a.learned_epoch for a in alone]))
    per_epoch = math.ceil(len(tiny) / BATCH)
    vog_steps = [per_epoch * EPOCHS // 2, per_epoch * EPOCHS]
    direct = [direct_scores(build, tiny, s, EARLY * per_epoch, vog_steps, K) for s in (0, 3)]
    return sequential, together, direct


CONTINUOUS = ("loss", "margin", "el2n", "grand", "vog")


@pytest.mark.parametrize("score", CONTINUOUS)
def test_continuous_scores_match_a_direct_computation(computed, score):
    sequential, _, direct = computed
    for row, ref in enumerate(direct):
        np.testing.assert_allclose(sequential.per_seed[score][row], ref[score], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{score}, seed row {row}")


@pytest.mark.parametrize("score", ("forgetting", "depth"))
def test_discrete_scores_match_a_direct_computation_exactly(computed, score):
    sequential, _, direct = computed
    for row, ref in enumerate(direct):
        np.testing.assert_array_equal(sequential.per_seed[score][row], ref[score], err_msg=f"{score}, row {row}")
    assert sequential.per_seed[score].max() > 0, "the tiny case should have some non-zero values"


def test_learned_epoch_matches_a_direct_computation(computed):
    sequential, _, direct = computed
    for row, ref in enumerate(direct):
        np.testing.assert_allclose(sequential.learned_epoch[row], ref["learned_epoch"])


def test_all_seeds_at_once_agree_with_one_at_a_time(computed):
    sequential, together, _ = computed
    assert isinstance(together.models, lk.Ensemble) and len(together.models) == 2
    for score in CONTINUOUS:
        np.testing.assert_allclose(together.per_seed[score], sequential.per_seed[score], rtol=1e-3, atol=1e-3,
                                   err_msg=score)
    for score in ("forgetting", "depth"):
        assert (together.per_seed[score] == sequential.per_seed[score]).mean() >= 0.95, score


def test_table_has_seed_mean_and_spread(computed):
    sequential, _, _ = computed
    table = sequential.table()
    assert isinstance(sequential, Result)
    assert len(table) == 70 and table.index.name == "example"
    for score in dif.SCORES:
        np.testing.assert_allclose(table[score], sequential.per_seed[score].mean(0))
        np.testing.assert_allclose(table[f"{score}_std"], sequential.per_seed[score].std(0))
    assert (table["label"].to_numpy() == sequential.labels).all()
    corr = sequential.correlations()
    assert list(corr.columns) == list(dif.SCORES) and np.allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(sequential.hardness("margin"), -table["margin"])


def test_batchnorm_models_are_trained_one_at_a_time(tiny):
    build = lambda: lk.models.SmallCNN(tiny.input_shape, tiny.n_classes, width=4, depth=2, norm="batch")
    s = dif.compute_scores(build, tiny, seeds=[0, 1], epochs=2, batch_size=BATCH, k=K,
                           scores=("loss", "el2n", "grand", "vog", "depth"))
    assert isinstance(s.models, lk.Ensemble) and s.models.sequential and len(s.models) == 2
    for v in s.per_seed.values():
        assert v.shape == (2, 70) and np.isfinite(v).all()


# ----------------------------------------------------------------------------------------------
# pure score functions


def test_el2n_margin_and_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 3.0]])
    y = torch.tensor([0, 1])
    p = torch.softmax(logits, 1)
    np.testing.assert_allclose(dif.el2n(logits, y), [
        float(torch.linalg.vector_norm(p[0] - torch.tensor([1.0, 0, 0]))),
        float(torch.linalg.vector_norm(p[1] - torch.tensor([0, 1.0, 0])))], rtol=1e-6)
    np.testing.assert_allclose(dif.margin(logits, y), [p[0, 0] - p[0, 1], p[1, 1] - p[1, 2]], rtol=1e-6)
    np.testing.assert_allclose(dif.cross_entropy(logits, y), F.cross_entropy(logits, y, reduction="none"), rtol=1e-6)
    stacked = torch.stack([logits, logits * 2])  # leading seed dimension
    assert dif.el2n(stacked, y).shape == (2, 2)
    np.testing.assert_allclose(dif.margin(stacked, y)[1], dif.margin(logits * 2, y), rtol=1e-6)


def test_forgetting_counts_by_hand():
    correct = torch.tensor([[1, 0, 0, 1],
                            [0, 0, 0, 1],
                            [1, 1, 0, 0],
                            [0, 1, 0, 0]], dtype=torch.bool)  # 4 presentations x 4 examples
    # example 0: 1,0,1,0 -> 2 events; 1: 0,0,1,1 -> 0; 2: 0,0,0,0 -> never learned -> 4; 3: 1,1,0,0 -> 1
    np.testing.assert_array_equal(dif.forgetting_counts(correct), [2, 0, 4, 1])
    with pytest.raises(ValueError, match="presentations"):
        dif.forgetting_counts(torch.ones(3, dtype=torch.bool))


def test_vog_from_gradients_by_hand():
    g = torch.tensor([[[1.0, 0.0], [2.0, 2.0], [0.0, 0.0]],
                      [[3.0, 0.0], [2.0, 2.0], [0.0, 4.0]]])  # 2 checkpoints, 3 examples, 2 pixels
    raw = dif.vog_from_gradients(g, normalize=False)
    np.testing.assert_allclose(raw, [0.5, 0.0, 1.0])  # per-pixel standard deviations (1, 0), (0, 0), (0, 2)
    norm = dif.vog_from_gradients(g, y=[0, 0, 1])
    np.testing.assert_allclose(norm, [1.0, -1.0, 0.0])  # class 1 has one example: centred only
    with pytest.raises(ValueError, match="labels"):
        dif.vog_from_gradients(g)
    with pytest.raises(ValueError, match="2 or more"):
        dif.vog_from_gradients(g[:1], normalize=False)


def test_knn_and_depth_by_hand():
    support = torch.tensor([[0.0], [0.1], [0.2], [1.0], [1.1]])
    labels = torch.tensor([0, 0, 1, 1, 1])
    np.testing.assert_array_equal(lk.probes.knn_predict(support, labels, k=1), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(lk.probes.knn_predict(support, labels, torch.tensor([[0.05], [0.9]]), k=3), [0, 1])
    probes = torch.tensor([[0, 1, 2, 0], [1, 1, 2, 0], [1, 1, 0, 0]])  # 3 layers x 4 examples
    np.testing.assert_array_equal(dif.depth_from_probes(probes, torch.tensor([1, 1, 2, 0])), [1, 0, 3, 0])
    with pytest.raises(ValueError, match="k=9"):
        lk.probes.knn_predict(support, labels, k=9)


def test_grad_norms_of_an_ensemble_match_each_member(tiny):
    ens, _ = lk.fit_many(build_mlp(tiny), tiny, seeds=[0, 1], epochs=1, batch_size=BATCH)
    both = dif.grad_norms(ens, tiny.X, tiny.y, batch_size=7)
    for s, m in enumerate(ens.models):
        np.testing.assert_allclose(both[s], lk.per_example_grad_norms(m, tiny), rtol=1e-4, atol=1e-6)


def test_input_gradients_match_autograd(tiny):
    model = build_mlp(tiny)().eval()
    g = lk.training.input_gradients(model, tiny.X[:5], tiny.y[:5])
    assert g.shape == (1, 5, 1, 8, 8)
    x = tiny.X[:5].clone().requires_grad_(True)
    model(x).gather(1, tiny.y[:5, None]).sum().backward()
    np.testing.assert_allclose(g[0], x.grad, rtol=1e-5, atol=1e-7)


def test_input_checks_say_what_is_wrong(tiny):
    with pytest.raises(ValueError, match="label 7"):
        dif.el2n(torch.zeros(3, 5), torch.tensor([0, 1, 7]))
    with pytest.raises(ValueError, match="NaN"):
        dif.margin(torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="unknown score"):
        dif.compute_scores(build_mlp(tiny), tiny, seeds=[0], epochs=1, scores=("difficulty",))
    with pytest.raises(ValueError, match="distinct"):
        dif.compute_scores(build_mlp(tiny), tiny, seeds=[0, 0], epochs=1)
    with pytest.raises(TypeError, match="labkit Data"):
        dif.compute_scores(build_mlp(tiny), (tiny.X, tiny.y), seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="vog_checkpoints"):
        dif.compute_scores(build_mlp(tiny), tiny, seeds=[0], epochs=1, vog_checkpoints=1)


# ----------------------------------------------------------------------------------------------
# label errors


def direct_confident_learning(P, y):
    K = P.shape[1]
    t = [np.mean([P[i, j] for i in range(len(y)) if y[i] == j]) for j in range(K)]
    suspects = set()
    for i in range(len(y)):
        candidates = [j for j in range(K) if P[i, j] >= t[j]]
        if candidates and max(candidates, key=lambda j: P[i, j]) != y[i]:
            suspects.add(i)
    return suspects


def test_find_label_errors_matches_the_confident_learning_rule():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    logits = rng.normal(size=(200, 4)) + 3 * np.eye(4)[y]
    flip = rng.random(200) < 0.15
    y_noisy = np.where(flip, (y + 1) % 4, y)
    P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    report = dif.find_label_errors(P, y_noisy)
    assert set(report.index[report.suspect]) == direct_confident_learning(P, y_noisy)
    suspects = report[report.suspect]
    assert suspects["self_confidence"].is_monotonic_increasing
    assert report.suspect.iloc[:len(suspects)].all()  # suspects come first
    assert (suspects["suggested"] != suspects["given"]).all()
    precision, recall = dif.precision_recall(report.index[report.suspect].to_numpy(), flip)
    hits = len(set(report.index[report.suspect]) & set(np.flatnonzero(flip)))
    assert precision == pytest.approx(hits / report.suspect.sum())
    assert recall == pytest.approx(hits / flip.sum())


def test_out_of_sample_probabilities_come_from_models_that_never_saw_the_example(tiny):
    data = lk.data.load_digits().subset(torch.arange(300))
    noisy = lk.data.add_label_noise(data, 0.1, seed=0)
    build = build_mlp(noisy)
    P = lk.probes.out_of_sample_proba(build, noisy, n_folds=3, seeds=[0], steps=150, batch_size=32, lr=1e-2)
    assert P.shape == (300, 10) and np.allclose(P.sum(1), 1, atol=1e-5)
    # a model that trained on the flipped labels agrees with them more than the held-out ones do
    ens, _ = lk.fit_many(build, noisy, seeds=[0], steps=600, batch_size=32, lr=1e-2)
    seen = ens.predict_logits(noisy.X)[0].softmax(1).numpy()
    flipped = noisy.meta["flipped"].numpy()
    own = lambda Q: Q[np.arange(300), noisy.y.numpy()]
    assert own(P)[flipped].mean() < own(seen)[flipped].mean()
    assert dif.auroc(-own(P), flipped) > 0.8
    with pytest.raises(ValueError, match="fewer than n_folds"):
        lk.probes.out_of_sample_proba(build, noisy.subset(torch.arange(12)), n_folds=5)


def test_auroc_and_precision_recall_check_inputs():
    assert dif.auroc([0.1, 0.9, 0.8, 0.2], [0, 1, 1, 0]) == 1.0
    with pytest.raises(ValueError, match="both positive and negative"):
        dif.auroc([0.1, 0.2], [1, 1])
    assert dif.precision_recall(np.array([True, False, True]), np.array([True, True, False])) == (0.5, 0.5)


# ----------------------------------------------------------------------------------------------
# data diet, many training sets at once


def test_keep_indices():
    h = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    np.testing.assert_array_equal(dif.keep_indices(h, 0.6, "easiest"), [0, 2, 4])
    np.testing.assert_array_equal(dif.keep_indices(h, 0.6, "hardest"), [1, 3, 4])
    r = dif.keep_indices(h, 0.4, "random", seed=3)
    assert len(r) == 2 and len(set(r)) == 2
    with pytest.raises(ValueError, match="drop"):
        dif.keep_indices(h, 0.5, "middle")
    with pytest.raises(ValueError, match="keep"):
        dif.keep_indices(h, 0.0)


def test_fit_subsets_trains_each_member_like_fit_on_its_subset(tiny):
    build = build_mlp(tiny)
    subsets = [np.arange(0, 48), np.arange(20, 70)]
    runs = lk.fit_subsets(build, tiny, subsets, seeds=[0, 5], steps=9, batch_size=16)
    assert runs.members == [(0, 0), (0, 5), (1, 0), (1, 5)]
    logits = runs.predict_logits(tiny.X)
    for m, (i, s) in enumerate(runs.members):
        lk.seed_everything(s)
        alone = build()
        lk.fit(alone, tiny.subset(subsets[i]), steps=9, batch_size=16, seed=s, drop_last=True, eval_every=0)
        np.testing.assert_allclose(logits[m], lk.predict_logits(alone, tiny.X), atol=1e-4)
    with pytest.raises(ValueError, match="outside"):
        lk.fit_subsets(build, tiny, [np.array([0, 100])], steps=1)


def test_fit_subsets_trains_batchnorm_models_one_at_a_time(tiny):
    build = lambda: lk.models.SmallCNN(tiny.input_shape, tiny.n_classes, width=4, depth=2, norm="batch")
    runs = lk.fit_subsets(build, tiny, [np.arange(40), np.arange(30, 70)], seeds=[0, 1], steps=4, batch_size=16)
    logits = runs.predict_logits(tiny.X)
    assert logits.shape == (4, 70, 10) and torch.isfinite(logits).all()
    lk.seed_everything(1)
    alone = build()
    lk.fit(alone, tiny.subset(np.arange(30, 70)), steps=4, batch_size=16, seed=1, drop_last=True, eval_every=0)
    np.testing.assert_allclose(logits[3], lk.predict_logits(alone, tiny.X), atol=1e-4)


def test_data_diet_rows(tiny):
    test = lk.data.load_digits().subset(torch.arange(1500, 1797))
    h = np.arange(70, dtype=float)
    diet = dif.data_diet(build_mlp(tiny), tiny, test, h, fractions=(0.5,), seeds=[0, 1], steps=20, batch_size=16)
    assert isinstance(diet, dif.DataDiet) and len(diet) == 4
    df = diet.table()
    assert list(df.columns) == ["strategy", "kept", "n_train", "accuracy", "accuracy_std", "accuracies"]
    assert list(df.strategy) == ["all", "drop easiest", "drop hardest", "random"]
    assert list(df.n_train) == [70, 35, 35, 35]
    assert df.accuracy.between(0, 1).all() and (df.accuracy_std >= 0).all()
    assert all(len(a) == 2 and np.isclose(np.mean(a), m) for a, m in zip(df.accuracies, df.accuracy))
    with pytest.raises(ValueError, match="hardness has 3 values"):
        dif.data_diet(build_mlp(tiny), tiny, test, h[:3])


# ----------------------------------------------------------------------------------------------
# agreement between seeds and architectures


def test_seed_agreement_rises_with_more_runs_on_noisy_copies():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=400)
    runs = truth + rng.normal(scale=1.5, size=(10, 400))
    agreement = dif.seed_agreement(runs, n_reference=5, n_draws=10)
    assert isinstance(agreement, dif.SeedAgreement)
    df = agreement.table()
    assert list(df.columns) == ["runs_averaged", "spearman_mean", "spearman_std"]
    assert list(df.runs_averaged) == [1, 2, 3, 4, 5]
    assert df.spearman_mean.is_monotonic_increasing
    assert df.spearman_mean.iloc[-1] > df.spearman_mean.iloc[0] + 0.1
    with pytest.raises(ValueError, match="at least 2 seeds"):
        dif.seed_agreement(runs[:1])


def test_architecture_probe_separates_different_and_not_identical_sources():
    rng = np.random.default_rng(1)
    base = rng.normal(size=300)
    shift = np.zeros(300)
    chosen = np.argsort(base)[:8]
    shift[chosen] = 4.0  # eight of the easiest examples are much harder for architecture B
    A = base + rng.normal(scale=0.5, size=(12, 300))
    B = base + shift + rng.normal(scale=0.5, size=(12, 300))
    res = dif.architecture_probe(A, B, n_examples=8, folds=3)
    assert res.accuracy == 1.0 and set(res.examples) == set(chosen)
    assert len(res.random_examples) == 8 and res.n_eval_runs == 12  # 6 evaluation runs of each
    table = res.table()
    assert list(table.index) == ["largest rank difference", "random"]
    assert table.accuracy.tolist() == [res.accuracy, res.accuracy_random_examples]
    assert table.n_examples.tolist() == [8, 8] and (table.n_eval_runs == 12).all()
    same = dif.architecture_probe(A, base + rng.normal(scale=0.5, size=(12, 300)), n_examples=8, folds=3)
    assert same.accuracy < 0.9
    d = dif.architecture_disagreement(A, B)
    assert set(np.argsort(d)[:8]) == set(chosen)  # harder for B: negative


def test_score_correlations():
    a = np.arange(10.0)
    corr = dif.score_correlations({"a": a, "b": a ** 3, "c": -a})
    np.testing.assert_allclose(corr.values, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]])
    with pytest.raises(ValueError, match="two scores"):
        dif.score_correlations({"a": a})


# ----------------------------------------------------------------------------------------------
# the widget's logic


@pytest.fixture()
def table():
    return pd.DataFrame({"label": [0, 1, 2, 3], "loss": [0.1, 2.0, 0.5, 1.0], "margin": [0.9, -0.5, 0.4, 0.1]})


def test_select_examples_hardest_and_easiest(table):
    assert list(dif.select_examples(table, "loss", "hardest", 2).index) == [1, 3]
    assert list(dif.select_examples(table, "loss", "easiest", 2).index) == [0, 2]
    assert list(dif.select_examples(table, "margin", "hardest", 2).index) == [1, 3]  # small margin = hard


def test_select_examples_disagreement(table):
    other = table.assign(loss=[2.0, 0.1, 0.5, 1.0])
    rows = dif.select_examples(table, "loss", "disagreement", 2, other=other)
    assert set(rows.index) == {0, 1}
    assert rows.loc[1, "disagreement"] > 0 > rows.loc[0, "disagreement"]
    with pytest.raises(ValueError, match="needs `other`"):
        dif.select_examples(table, "loss", "disagreement")
    with pytest.raises(ValueError, match="unknown score"):
        dif.select_examples(table, "label")
    with pytest.raises(ValueError, match="slice"):
        dif.select_examples(table, "loss", "middle")


def test_the_examples_view_and_widget(tiny, computed):
    table = computed[0].table()
    view = dif.examples_view(table, "el2n", "hardest", 4)
    assert list(view.rows.index) == list(dif.select_examples(table, "el2n", "hardest", 4).index)
    assert view.title == "hardest 4 by el2n" and len(view.values) == 4
    assert len(dif.render_examples(tiny, view).axes) == 4
    box = dif.examples_widget(tiny, table, other=table, n=4)
    assert box.children and box.view.slice == "hardest"
    box.children[1].value = "easiest"
    assert box.view.slice == "easiest" and list(box.view.rows.index) == list(dif.examples_view(table, "el2n", "easiest", 4).rows.index)


def test_the_seed_agreement_and_diet_plots_take_their_results():
    import matplotlib
    matplotlib.use("Agg")

    agreement = dif.SeedAgreement(pd.DataFrame({"runs_averaged": [1, 2], "spearman_mean": [0.5, 0.7],
                                                "spearman_std": [0.1, 0.05]}))
    ax = dif.plot_seed_agreement({"loss": agreement, "el2n": agreement.table()})
    assert len(ax.lines) >= 2 and ax.get_legend_handles_labels()[1] == ["loss", "el2n"]
    diet = dif.DataDiet(pd.DataFrame({"strategy": ["all", "random", "random"], "kept": [1.0, 0.5, 0.9],
                                      "n_train": [10, 5, 9], "accuracy": [0.9, 0.7, 0.85],
                                      "accuracy_std": [0.0, 0.01, 0.02], "accuracies": [[0.9], [0.7], [0.85]]}))
    ax = dif.plot_data_diet(diet)
    assert ax.get_legend_handles_labels()[1] == ["random"]
