"""labkit's trainer, many-seed training and per-example gradient norms against the plain PyTorch way,
and the trainer against a bare loop (its own overhead).

    python -m benchmarks.core          (or: make bench)

Each comparison trains the same model on the same data for the same epochs from the same seed,
once labkit's way and once the plain way, alternately, and prints wall and CPU time and their
ratios (best of several repeats, after an untimed warm-up of each). The verdict uses wall time, the
time one waits for; run it on an otherwise idle machine. ``--threads 1`` pins torch to one thread.
"""
from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import labkit as lk
from benchmarks.common import REPORT_COLUMNS, ROWS, machine_line, report, timed_pair, write_results

EPOCHS = 5
BATCH = 128
SEEDS = 8
BARE_LIMIT = 1.10  # lk.fit may be at most this much slower than the bare loop


def digits_split():
    train, _, test = lk.data.train_val_test_split(lk.data.load_digits(), val=0.0, test=0.2, seed=0)
    return train, test


def build_mlp(train, hidden=(256, 256)):
    return lk.models.MLP(train.input_shape, train.n_classes, hidden=hidden)


def plain_fit(model, train, device, epochs=EPOCHS, seed=0):
    """The textbook loop: DataLoader over a TensorDataset, each batch moved to the device."""
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(train.X.cpu(), train.y.cpu()), batch_size=BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def bare_fit(model, train, device, epochs=EPOCHS, seed=0):
    """Only the indispensable work of a training loop: the resident tensors indexed by a fresh
    permutation per epoch, forward, cross-entropy, backward, fused Adam; no history, callbacks or
    checks. What labkit's one loop must not be slower than."""
    X, y = train.X.to(device), train.y.to(device)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=gen).to(device).split(BATCH):
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model


def bench_bare(train, device, hidden=(256, 256), limit=BARE_LIMIT):
    """lk.fit against :func:`bare_fit`: the loop's own overhead. Returns labkit's time / bare time."""
    def ours():
        lk.seed_everything(0)
        lk.fit(build_mlp(train, hidden), train, epochs=EPOCHS, batch_size=BATCH, device=device, progress=False,
               seed=0)

    def bare():
        lk.seed_everything(0)
        bare_fit(build_mlp(train, hidden), train, device)

    (*t_ours, _), (*t_bare, _) = timed_pair(ours, bare, repeats=15)
    slower = t_ours[0] / t_bare[0]
    verdict = f"labkit / bare {slower:.3f}: at most {limit:.2f} {'met' if slower <= limit else 'NOT met'}"
    report(f"4. the loop's overhead: lk.fit vs a bare loop (as 'plain'), MLP {hidden}, {EPOCHS} epochs", t_ours, t_bare,
           check=verdict)
    return slower


def bench_trainer(train, test, device, target, hidden=(256, 256)):
    def ours():
        lk.seed_everything(0)
        m = build_mlp(train, hidden)
        lk.fit(m, train, epochs=EPOCHS, batch_size=BATCH, device=device, progress=False, seed=0)
        return m

    def plain():
        lk.seed_everything(0)
        return plain_fit(build_mlp(train, hidden), train, device)

    (*t_ours, m1), (*t_plain, m2) = timed_pair(ours, plain, repeats=7)
    accuracy = f"test accuracy: labkit {lk.evaluate(m1, test).accuracy:.3f}, plain {lk.evaluate(m2, test).accuracy:.3f}"
    return report(f"1. trainer vs DataLoader, MLP {hidden} on digits, {EPOCHS} epochs, batch {BATCH}",
                  t_ours, t_plain, target, check=accuracy)


def bench_seeds(train, test, device):
    seeds = list(range(SEEDS))

    def together():
        return lk.fit_many(lambda: build_mlp(train), train, seeds=seeds, epochs=EPOCHS, batch_size=BATCH,
                           device=device, progress=False)[0]

    def one_by_one():
        models = []
        for s in seeds:
            lk.seed_everything(s)
            m = build_mlp(train)
            lk.fit(m, train, epochs=EPOCHS, batch_size=BATCH, device=device, progress=False, seed=s)
            models.append(m)
        return models

    (*t_ours, ens), (*t_plain, models) = timed_pair(together, one_by_one, repeats=3)
    accs = [e.accuracy for e in ens.evaluate(test)]
    accuracy = (f"mean test accuracy: together {sum(accs) / len(accs):.3f}, "
                f"one by one {sum(lk.evaluate(m, test).accuracy for m in models) / len(models):.3f}")
    return report(f"2. {SEEDS} seeds at once (torch.func.vmap) vs {SEEDS} runs one after another (labkit's fit)",
                  t_ours, t_plain, check=accuracy)


def bench_grad_norms(train, device, target):
    lk.seed_everything(0)
    model = build_mlp(train).to(device)
    lk.fit(model, train, epochs=1, device=device, progress=False)
    X, y = train.X.to(device), train.y.to(device)

    def loop():
        model.eval()
        norms = []
        for i in range(len(X)):
            model.zero_grad()
            F.cross_entropy(model(X[i:i + 1]), y[i:i + 1]).backward()
            norms.append(torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters())))
        return torch.stack(norms).cpu()

    (*t_ours, fast), (*t_plain, slow) = timed_pair(lambda: lk.per_example_grad_norms(model, train), loop,
                                                   repeats=2)
    return report(f"3. per-example gradient norms, {len(X)} digits: torch.func vs a Python loop",
                  t_ours, t_plain, target, check=f"max relative difference {((fast - slow).abs() / slow).max():.1e}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = lk.get_device()
    gpu = device.type == "cuda"
    machine = machine_line()
    print(machine + "\n", flush=True)
    train, test = digits_split()
    r1 = bench_trainer(train, test, device, 5 if gpu else 2)
    # The trainer removes per-step overhead; the smaller the model, the larger that share of a step.
    bench_trainer(train, test, device, None, hidden=(64,))
    bench_seeds(train, test, device)
    r3 = bench_grad_norms(train, device, 10)
    r4 = bench_bare(train, device)
    write_results("core", machine, [("", REPORT_COLUMNS, ROWS)])
    return 0 if r1 >= (5 if gpu else 2) and r3 >= 10 and r4 <= BARE_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
