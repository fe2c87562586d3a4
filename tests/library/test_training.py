import numpy as np
import pytest
import torch
import torch.nn.functional as F

import labkit as lk
from labkit.training import _lr_lambda


@pytest.fixture(scope="module")
def splits():
    return lk.data.train_val_test_split(lk.data.load_digits(), val=0.15, test=0.2, seed=0)


def mlp(train, hidden=(64,)):
    return lk.models.MLP(train.input_shape, train.n_classes, hidden=hidden)


def test_trainer_learns_digits(splits):
    """The smoke-scale bar: an MLP trained for 8 epochs passes 90 % test accuracy on digits."""
    train, val, test = splits
    lk.seed_everything(0)
    model = mlp(train, (128,))
    history = lk.fit(model, train, val, epochs=8, batch_size=64, lr=3e-3)
    assert lk.evaluate(model, test).accuracy > 0.90
    assert history.loss[-10:].mean() < 0.5 * history.loss[:5].mean()
    assert history.steps == 8 * int(np.ceil(len(train) / 64)) and len(history.evals) == 8
    assert history.evals[-1]["val_acc"] > 0.9
    frame = history.to_frame()
    assert list(frame.columns) == ["step", "epoch", "lr", "loss"] and frame.epoch.iloc[-1] == 8


def test_same_seed_same_training(splits):
    train = splits.train

    def run(seed):
        lk.seed_everything(seed)
        model = mlp(train)
        h = lk.fit(model, train, epochs=2, seed=seed)
        return h.loss, torch.cat([p.flatten() for p in model.parameters()])

    (l1, w1), (l2, w2), (l3, _) = run(5), run(5), run(6)
    assert np.array_equal(l1, l2) and torch.equal(w1, w2)
    assert not np.array_equal(l1, l3)


def test_callbacks_see_every_step_and_each_epoch_is_a_permutation(splits):
    train = splits.train
    seen = []

    def record(state):
        seen.append((state.step, state.epoch, state.index.clone(), state.logits.shape, state.targets.clone()))

    lk.fit(mlp(train), train, epochs=2, batch_size=100, callbacks=[record])
    per_epoch = int(np.ceil(len(train) / 100))
    assert [s[0] for s in seen] == list(range(1, 2 * per_epoch + 1))
    assert seen[per_epoch - 1][1] == 1.0
    first_epoch = torch.cat([s[2] for s in seen[:per_epoch]])
    assert torch.equal(first_epoch.sort().values, torch.arange(len(train)))
    assert seen[0][3] == (100, 10)
    assert torch.equal(seen[0][4], train.y[seen[0][2]])  # the targets are those of the batch's indices


def test_callback_can_stop_training(splits):
    def stop_at_5(state):
        state.stop = state.step == 5

    h = lk.fit(mlp(splits.train), splits.train, epochs=3, callbacks=[stop_at_5])
    assert h.steps == 5


def test_steps_instead_of_epochs(splits):
    assert lk.fit(mlp(splits.train), splits.train, steps=7).steps == 7


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("schedule", ["constant", "cosine", "onecycle"])
def test_optimizers_and_schedules_reduce_the_loss(splits, optimizer, schedule):
    lk.seed_everything(0)
    h = lk.fit(mlp(splits.train), splits.train, epochs=3, optimizer=optimizer, schedule=schedule)
    assert h.loss[-5:].mean() < h.loss[:3].mean()


def test_schedule_shapes():
    cosine = _lr_lambda("cosine", 100)
    assert cosine(0) == 1.0 and abs(cosine(50) - 0.5) < 1e-9 and cosine(100) < 1e-9
    linear = _lr_lambda("linear", 100)
    assert linear(0) == 1.0 and linear(50) == pytest.approx(0.5) and linear(100) == 0.0
    step = _lr_lambda("step", 100)
    assert step(10) == 1 and step(60) == pytest.approx(0.1) and step(80) == pytest.approx(0.01)
    one = _lr_lambda("onecycle", 100)
    assert one(25) == pytest.approx(1.0) and one(0) == 0.0


def test_lr_is_recorded(splits):
    h = lk.fit(mlp(splits.train), splits.train, epochs=2, lr=0.01, schedule="linear")
    assert h.lr[0] == pytest.approx(0.01) and h.lr[-1] < 0.001 and np.all(np.diff(h.lr) <= 0)


def test_bad_training_inputs(splits):
    train = splits.train
    model = mlp(train)
    with pytest.raises(ValueError, match="exactly one of epochs or steps"):
        lk.fit(model, train)
    with pytest.raises(ValueError, match="unknown optimizer"):
        lk.fit(model, train, epochs=1, optimizer="lbfgs-ish")
    with pytest.raises(ValueError, match="unknown schedule"):
        lk.fit(model, train, epochs=1, schedule="zigzag")
    with pytest.raises(ValueError, match="only 10 classes"):
        lk.fit(model, (train.X, train.y + 5), epochs=1)
    with pytest.raises(ValueError, match="cannot take train.X"):
        lk.fit(model, lk.data.make_moons(50), epochs=1)
    with pytest.raises(ValueError, match="NaN"):
        lk.fit(model, (torch.full((10, 1, 8, 8), float("nan")), torch.zeros(10)), epochs=1)
    with pytest.raises(TypeError, match="Data or an \\(X, y\\) pair"):
        lk.fit(model, train.X, epochs=1)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        lk.fit(model, train, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="lr must be in"):
        lk.fit(model, train, epochs=1, lr=-1.0)


def test_evaluate_matches_a_direct_computation(splits):
    train, _, test = splits
    lk.seed_everything(0)
    model = mlp(train)
    lk.fit(model, train, epochs=2)
    ev = lk.evaluate(model, test, batch_size=37)  # batches must not change the answer
    with torch.no_grad():
        logits = model.eval()(test.X)
    assert torch.allclose(ev.logits, logits, atol=1e-5)
    assert ev.accuracy == pytest.approx((logits.argmax(1) == test.y).float().mean().item())
    assert torch.allclose(ev.losses, F.cross_entropy(logits, test.y, reduction="none"), atol=1e-5)
    assert torch.allclose(ev.probs.sum(1), torch.ones(len(test)))
    assert torch.allclose(lk.predict_proba(model, test.X), ev.probs)


def test_fit_many_matches_fitting_each_seed_alone(splits):
    """vmap over stacked parameters must give each member exactly its own training run."""
    train, val, test = splits
    seeds = [3, 4, 5]
    ens, hist = lk.fit_many(lambda: mlp(train), train, val, seeds=seeds, epochs=2, batch_size=64,
                            optimizer="sgd", lr=0.05, weight_decay=1e-4)
    assert hist.loss.shape == (hist.steps, 3) and len(ens) == 3
    together = ens.predict_logits(test.X)
    assert together.shape == (3, len(test), 10)
    for s, member, member_logits in zip(seeds, ens.models, together):
        lk.seed_everything(s)
        alone = mlp(train)
        lk.fit(alone, train, epochs=2, batch_size=64, optimizer="sgd", lr=0.05, weight_decay=1e-4, seed=s)
        for p, q in zip(alone.parameters(), member.parameters()):
            assert torch.allclose(p, q, atol=1e-4), "a member's weights differ from training it alone"
        assert torch.allclose(lk.predict_logits(alone, test.X), member_logits, atol=1e-3)
    accs = [e.accuracy for e in ens.evaluate(test)]
    assert min(accs) > 0.8 and hist.evals[-1]["val_acc_per_seed"] != [accs[0]] * 3


def test_fit_many_callbacks_see_all_members(splits):
    shapes = []
    lk.fit_many(lambda: mlp(splits.train), splits.train, seeds=[0, 1], steps=3,
                callbacks=[lambda s: shapes.append((s.logits.shape, s.index.shape, s.loss.shape))])
    assert shapes == [((2, 128, 10), (2, 128), (2,))] * 3


def test_fit_many_trains_batchnorm_members_one_after_another_like_fit(splits):
    """BatchNorm cannot be vmapped; the same loop runs such members in turn, each as fit would."""
    train, _, test = splits
    build = lambda: lk.models.SmallCNN((1, 8, 8), 10, width=4, norm="batch")  # noqa: E731
    ens, hist = lk.fit_many(build, train, seeds=[1, 2], epochs=1, batch_size=64)
    assert ens.sequential and hist.loss.shape == (hist.steps, 2)
    for s, member in zip([1, 2], ens.models):
        lk.seed_everything(s)
        alone = build()
        lk.fit(alone, train, epochs=1, batch_size=64, seed=s)
        for (name, p), q in zip(alone.state_dict().items(), member.state_dict().values()):
            assert torch.allclose(p.float(), q.float(), atol=1e-4), name  # running statistics too
    with pytest.raises(ValueError, match="distinct"):
        lk.fit_many(lambda: mlp(splits.train), splits.train, seeds=[1, 1], epochs=1)
    with pytest.raises(ValueError, match="empty"):
        lk.fit_many(lambda: mlp(splits.train), splits.train, seeds=[], epochs=1)


def loop_grad_norms(model, data):
    """The slow reference: one backward pass per example."""
    model.eval()
    out = []
    for x, y in zip(data.X, data.y):
        model.zero_grad()
        F.cross_entropy(model(x[None]), y[None]).backward()
        out.append(torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters() if p.grad is not None)))
    return torch.stack(out)


class SharedLinear(torch.nn.Module):
    """One linear layer applied twice: its gradient is a sum of two outer products."""

    def __init__(self):
        super().__init__()
        self.inp, self.shared, self.head = torch.nn.Linear(64, 16), torch.nn.Linear(16, 16), torch.nn.Linear(16, 10)

    def forward(self, x):
        h = self.inp(x.flatten(1)).relu()
        return self.head(self.shared(self.shared(h).relu()).relu())


class TokenLinear(torch.nn.Module):
    """A linear layer on a sequence (8 rows of 8 pixels): its gradient sums over the rows."""

    def __init__(self):
        super().__init__()
        self.tok, self.head = torch.nn.Linear(8, 12), torch.nn.Linear(12, 10)

    def forward(self, x):
        return self.head(self.tok(x.view(len(x), 8, 8)).relu().mean(1))


@pytest.mark.parametrize("build", [
    lambda: lk.models.MLP((1, 8, 8), 10, hidden=(32, 16)),
    lambda: lk.models.SmallCNN((1, 8, 8), 10, width=4, norm="batch"),
    lambda: lk.models.SmallCNN((1, 8, 8), 10, width=4, norm="group"),
    SharedLinear, TokenLinear], ids=["mlp", "cnn-batchnorm", "cnn-groupnorm", "shared-linear", "sequence-linear"])
def test_per_example_grad_norms_match_a_loop(splits, build):
    train = splits.train.subset(torch.arange(40))
    model = build()
    lk.fit(model, train, epochs=1)
    fast = lk.per_example_grad_norms(model, train, batch_size=16)
    assert fast.shape == (40,)
    assert torch.allclose(fast, loop_grad_norms(model, train), rtol=1e-4, atol=1e-6)
    assert torch.allclose(lk.per_example_grad_norms(model, train), fast, rtol=1e-5)  # one chunk


def test_grad_norms_of_an_mlp_never_materialise_per_example_weight_gradients(splits, monkeypatch):
    modes = []
    inner = lk.training.gradients._grad_sq_norms

    def spy(*args, use_identity=True):
        modes.append(use_identity)
        return inner(*args, use_identity=use_identity)
    monkeypatch.setattr(lk.training.gradients, "_grad_sq_norms", spy)
    train = splits.train.subset(torch.arange(30))
    model = mlp(train)
    assert torch.allclose(lk.per_example_grad_norms(model, train), loop_grad_norms(model, train), rtol=1e-4)
    assert modes == [True]
    lk.per_example_grad_norms(SharedLinear(), train)  # the identity does not hold: vmap(grad) for all
    assert modes == [True, True, False]


def test_per_example_grad_norms_of_an_ensemble(splits):
    train = splits.train.subset(torch.arange(25))
    ens, _ = lk.fit_many(lambda: mlp(train), train, seeds=[0, 1, 2], steps=2)
    both = lk.per_example_grad_norms(ens, train, batch_size=10)
    assert both.shape == (3, 25)
    for s, m in enumerate(ens.models):
        assert torch.allclose(both[s], loop_grad_norms(m, train), rtol=1e-4, atol=1e-6)
    with pytest.raises(TypeError, match="nn.Module or a labkit Ensemble"):
        lk.per_example_grad_norms("model", train)
    with pytest.raises(ValueError, match="batch_size"):
        lk.per_example_grad_norms(ens, train, batch_size=0)


def test_checkpoint_round_trip(tmp_path, splits):
    train = splits.train
    model = mlp(train)
    history = lk.fit(model, train, epochs=1)
    path = lk.save_checkpoint(tmp_path / "ck" / "m.pt", model, history, note="digits")
    fresh = mlp(train)
    meta = lk.load_checkpoint(path, fresh)
    assert meta["note"] == "digits" and np.array_equal(meta["history"].loss, history.loss)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))
    with pytest.raises(ValueError, match="does not fit"):
        lk.load_checkpoint(path, mlp(train, hidden=(32,)))
    with pytest.raises(ValueError, match="holds a MLP"):
        lk.load_checkpoint(path, lk.models.SmallCNN((1, 8, 8), 10))
    with pytest.raises(FileNotFoundError):
        lk.load_checkpoint(tmp_path / "nope.pt", fresh)


@pytest.mark.gpu
def test_fit_on_cuda_uses_mixed_precision_and_learns(splits):
    train, _, test = splits
    model = lk.models.SmallCNN((1, 8, 8), 10)
    lk.fit(model, train, epochs=5, device="cuda")
    assert next(model.parameters()).is_cuda
    assert lk.evaluate(model, test).accuracy > 0.8
    ens, _ = lk.fit_many(lambda: mlp(train), train, seeds=[0, 1], epochs=3, device="cuda")
    assert all(e.accuracy > 0.8 for e in ens.evaluate(test))


def test_one_model_functions_refuse_an_ensemble_and_say_what_to_use():
    data = lk.data.Data(torch.randn(40, 5), torch.randint(0, 3, (40,)))
    ens, _ = lk.fit_many(lambda: lk.models.MLP((5,), 3, hidden=(8,)), data, seeds=[0, 1], epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"ens.predict_logits\(X\)"):
        lk.predict_logits(ens, data.X)
    with pytest.raises(ValueError, match="ensemble of 2 models"):
        lk.evaluate(ens, data)
    assert ens.predict_logits(data.X).shape == (2, 40, 3)
