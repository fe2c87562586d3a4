"""The one training loop: every trainer gives the numbers of a plain PyTorch loop, and each of its
extensions (update scales, masks, gradient routing, callbacks) does what it says."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import labkit as lk
from labkit.training import EpochBatches, PlanBatches, SubsetBatches, build_members, train_members


@pytest.fixture(scope="module")
def data():
    return lk.data.train_val_test_split(lk.data.load_digits(), val=0.0, test=0.2, seed=0).train.subset(torch.arange(300))


def mlp(data, hidden=(32,)):
    return lk.models.MLP(data.input_shape, data.n_classes, hidden=hidden)


def plain_loop(model, data, batches, lr=1e-3, weight_decay=0.0, lr_of=None):
    """The textbook way: Adam, a list of index batches, mean cross-entropy, backward, step."""
    groups = [{"params": list(model.parameters()), "lr": lr}] if lr_of is None else lr_of(model)
    opt = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay)
    losses = []
    model.train()
    for idx in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(data.X[idx]), data.y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def epoch_batches(n, batch_size, epochs, seed):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(epochs):
        perm = torch.arange(n)[torch.randperm(n, generator=gen)]
        out += list(perm.split(batch_size))
    return out


def same_weights(a, b, atol=1e-5):
    return all(torch.allclose(p, q, atol=atol) for p, q in zip(a.parameters(), b.parameters()))


def test_fit_matches_a_plain_loop(data):
    lk.seed_everything(3)
    model = mlp(data)
    lk.seed_everything(3)
    ref = mlp(data)
    history = lk.fit(model, data, epochs=2, batch_size=64, seed=3, weight_decay=1e-4)
    losses = plain_loop(ref, data, epoch_batches(len(data), 64, 2, 3), weight_decay=1e-4)
    assert np.allclose(history.loss, losses, atol=1e-5) and same_weights(model, ref)


def test_fit_many_matches_a_plain_loop_per_seed(data):
    ens, history = lk.fit_many(lambda: mlp(data), data, seeds=[5, 6, 7], epochs=2, batch_size=50)
    for s, (member, col) in enumerate(zip(ens.models, history.loss.T)):
        lk.seed_everything(5 + s)
        ref = mlp(data)
        losses = plain_loop(ref, data, epoch_batches(len(data), 50, 2, 5 + s))
        assert np.allclose(col, losses, atol=1e-5) and same_weights(member, ref, atol=1e-4)


def test_fit_subsets_matches_a_plain_loop_per_subset(data):
    subsets = [np.arange(0, 120), np.arange(100, 300)]
    runs = lk.fit_subsets(lambda: mlp(data), data, subsets, seeds=[0, 1], steps=12, batch_size=40)
    for m, (i, s) in enumerate(runs.members):
        lk.seed_everything(s)
        ref = mlp(data)
        index, gen, batches = torch.as_tensor(subsets[i]), torch.Generator().manual_seed(s), []
        while len(batches) < 12:
            perm = index[torch.randperm(len(index), generator=gen)]
            batches += list(perm.split(40))[:len(index) // 40]
        plain_loop(ref, data, batches[:12])
        assert same_weights(runs.ensemble.models[m], ref, atol=1e-4), (i, s)


def test_update_scale_equals_a_smaller_learning_rate_and_zero_freezes(data):
    lk.seed_everything(0)
    model = mlp(data, (16, 16))
    init = [p.detach().clone() for p in model.parameters()]
    lk.seed_everything(0)
    ref = mlp(data, (16, 16))
    lk.fit(model, data, epochs=1, batch_size=64, seed=0,
           update_scale={"blocks.fc1": 0.0, "blocks.fc2": 0.1})
    slow = lambda m: [{"params": list(m.blocks.fc2.parameters()), "lr": 1e-4},  # noqa: E731
                      {"params": list(m.blocks.head.parameters()), "lr": 1e-3}]
    plain_loop(ref, data, epoch_batches(len(data), 64, 1, 0), lr_of=slow)
    assert all(torch.equal(p, q) for p, q in zip(model.blocks.fc1.parameters(), init[:2]))
    assert same_weights(model, ref)
    with pytest.raises(ValueError, match="matches no parameter"):
        lk.fit(model, data, steps=1, update_scale={"blocks.nope": 0.0})


def test_per_member_update_scales_and_masks(data):
    build = lambda: mlp(data)  # noqa: E731
    ens = build_members(build, [0, 0], torch.device("cpu"))
    before = ens.params["blocks.fc1.1.weight"].detach().clone()
    mask = (torch.rand(before.shape[1:]) > 0.7).float()
    batches = EpochBatches(len(data), 64, [0, 0], epochs=1)
    train_members(ens, data.X, data.y, batches, update_scale={"blocks.fc1": torch.tensor([0.0, 1.0])},
                  masks={"blocks.head.0.weight": torch.ones(10, 32)})
    after = ens.params["blocks.fc1.1.weight"].detach()
    assert torch.equal(after[0], before[0]) and not torch.equal(after[1], before[1])
    ens = build_members(build, [0], torch.device("cpu"))
    train_members(ens, data.X, data.y, EpochBatches(len(data), 64, [0], epochs=1), masks={"blocks.fc1.1.weight": mask})
    w = ens.params["blocks.fc1.1.weight"].detach()[0]
    assert torch.all(w[mask == 0] == 0) and (w[mask == 1] != 0).all()


def test_route_gives_each_block_the_gradient_of_its_own_source(data):
    noisy = data.X + 0.3 * torch.randn_like(data.X)
    plan = epoch_batches(len(data), 64, 1, 0)
    build = lambda: mlp(data, (16,))  # noqa: E731
    ens = build_members(build, [0, 0, 0], torch.device("cpu"))
    route = {"blocks.fc1": torch.tensor([0, 1, 1]), "blocks.head": torch.tensor([0, 1, 0])}
    train_members(ens, {"clean": data.X, "noisy": noisy}, data.y, PlanBatches(plan, 3), route=route)
    clean_run, noisy_run, mixed = ens.models
    for source, run in ((data.X, clean_run), (noisy, noisy_run)):  # all blocks on one source: plain training
        lk.seed_everything(0)
        ref = build()
        plain_loop(ref, lk.data.Data(source, data.y), plan)
        assert same_weights(run, ref)
    lk.seed_everything(0)
    ref = build()
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    for idx in plan:  # fc1 from the noisy batch, the head from the clean one
        opt.zero_grad()
        g_noisy = torch.autograd.grad(F.cross_entropy(ref(noisy[idx]), data.y[idx]), list(ref.blocks.fc1.parameters()))
        F.cross_entropy(ref(data.X[idx]), data.y[idx]).backward()
        for p, g in zip(ref.blocks.fc1.parameters(), g_noisy):
            p.grad = g
        opt.step()
    assert same_weights(mixed, ref)


def test_callbacks_see_the_untrained_model_first_and_the_end(data):
    seen = []

    class Recorder:
        def on_start(self, state):
            seen.append(("start", state.step, float(lk.evaluate(state.model, data).accuracy)))

        def on_step(self, state):
            seen.append(("step", state.step, tuple(state.member_index.shape)))

        def on_end(self, state):
            seen.append(("end", state.step, None))

    lk.seed_everything(0)
    model = mlp(data)
    start_acc = lk.evaluate(model, data).accuracy
    lk.fit(model, data, steps=3, batch_size=32, callbacks=[Recorder()])
    assert seen[0] == ("start", 0, pytest.approx(start_acc))
    assert [s[:2] for s in seen[1:]] == [("step", 1), ("step", 2), ("step", 3), ("end", 3)]
    assert seen[1][2] == (1, 32)
    with pytest.raises(TypeError, match="callback"):
        lk.fit(model, data, steps=1, callbacks=[42])


def test_the_batch_sources_check_their_inputs():
    with pytest.raises(ValueError, match="exactly one of epochs or steps"):
        EpochBatches(10, 2, [0])
    with pytest.raises(ValueError, match="subset 1 is empty"):
        SubsetBatches([[0, 1], []], [0, 1], 2, 3)
    with pytest.raises(ValueError, match="outside"):
        SubsetBatches([[0, 12]], [0], 2, 3, n=10)
    with pytest.raises(ValueError, match="one seed per subset"):
        SubsetBatches([[0, 1]], [0, 1], 2, 3)
    assert SubsetBatches([[0, 1, 2], [3, 4, 5, 6, 7]], [0, 1], 4, 3).batch_size == 3
