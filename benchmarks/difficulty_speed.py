"""All seven difficulty scores of lecture L2 for a whole training set over 5 seeds: labkit against
the plain PyTorch way, the same work in one process.

    python benchmarks/difficulty_speed.py              (or: python -m benchmarks.difficulty_speed)
    python benchmarks/difficulty_speed.py --threads 1  (faster on a busy 2-core machine)
    python benchmarks/difficulty_speed.py --full       (GPU: MNIST-sized and CIFAR-10-sized data)

labkit: ``difficulty.compute_scores`` -- the 5 seeds train at once as one vmapped model; loss,
margin, forgetting and the learned epoch come from the logits every step computes anyway; EL2N,
GraNd (``lk.per_example_grad_norms``: one ``torch.func.grad`` pass for the linear layers, ``vmap``-ed
over seeds) and VoG (one vmapped input
gradient per checkpoint) at checkpoints inside the same run; batched k-NN probes (``torch.cdist``).

plain: what one writes without it -- one seed after another, a ``DataLoader`` over a
``TensorDataset``, per-batch bookkeeping of loss, margin and correctness, a Python loop over the
examples for the gradient norms (one backward pass each), batched input gradients for VoG, and
scikit-learn's ``KNeighborsClassifier`` on every layer for prediction depth.

Both use the same model, optimizer (Adam, lr 1e-3), batch size, epochs, checkpoints and k. The
script prints both times, the ratio, and how well the two sets of seed-averaged scores agree (they
come from different batch orders, so they agree closely, not exactly). The target on a CPU is a
wall-time ratio of at least 5 (CPU time is printed too); the exit status is 1 when it is missed.
Both ways first run once, untimed, on a few examples, so one-time costs of the process (torch's
lazy imports, the first vmap call) go to neither.

``--full`` (for a GPU) times the same on 20,000 MNIST-sized images (1x28x28, random tensors unless
the MNIST files are at hand) with an MLP and on 10,000 CIFAR-10-sized tensors (3x32x32) with a
small CNN. There the plain way runs on fewer seeds and its per-example loop on a part of the set,
and both times are scaled up (one run after another grows linearly; the script prints what it did).
On random tensors there is nothing to learn, so the agreement line means little there.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import labkit as lk  # noqa: E402
from benchmarks.common import machine_line, write_results  # noqa: E402
from labkit import difficulty as dif  # noqa: E402

TARGET_CPU = 5.0  # wall-time ratio on a CPU


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_scores(build, data, seeds, epochs, batch_size, early_epoch, vog_checkpoints, k, device,
                 grand_limit=None):
    """Every score the plain way; returns (dict of [S, N] arrays, dict of seconds per part, the
    number of examples the GraNd loop covered)."""
    X, y = data.X.to(device), data.y.to(device)
    N, K = len(y), data.n_classes
    per_epoch = math.ceil(N / batch_size)
    early_step = max(1, round(early_epoch * per_epoch))
    total = per_epoch * epochs
    vog_steps = sorted({max(1, round(total * (c + 1) / vog_checkpoints)) for c in range(vog_checkpoints)})
    out = {s: np.zeros((len(seeds), N)) for s in dif.SCORES}
    parts = {"GraNd loop": 0.0, "VoG gradients": 0.0, "k-NN probes": 0.0}
    grand_n = N if grand_limit is None else min(N, grand_limit)
    for row, seed in enumerate(seeds):
        torch.manual_seed(seed)
        model = build().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        # the usual input pipeline: a TensorDataset on the host, batches moved to the device
        loader = DataLoader(TensorDataset(data.X.cpu(), data.y.cpu(), torch.arange(N)), batch_size=batch_size,
                            shuffle=True, pin_memory=device.type == "cuda",
                            generator=torch.Generator().manual_seed(seed))
        loss_sum, margin_sum = torch.zeros(N, device=device), torch.zeros(N, device=device)
        count, forgotten = torch.zeros(N, device=device), torch.zeros(N, device=device)
        prev, ever = torch.zeros(N, dtype=torch.bool, device=device), torch.zeros(N, dtype=torch.bool, device=device)
        vog_grads = []
        step = 0
        for _ in range(epochs):
            for xb, yb, ib in loader:
                xb, yb, ib = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True), ib.to(device)
                model.train()
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                with torch.no_grad():  # per-batch bookkeeping
                    p = logits.softmax(1)
                    own = p.gather(1, yb[:, None])[:, 0]
                    other = p.scatter(1, yb[:, None], -1.0).max(1).values
                    correct = logits.argmax(1) == yb
                    loss_sum[ib] += -torch.log(own.clamp_min(1e-30))
                    margin_sum[ib] += own - other
                    count[ib] += 1
                    forgotten[ib] += (prev[ib] & ~correct).float()
                    prev[ib] = correct
                    ever[ib] |= correct
                if step == early_step:
                    model.eval()
                    with torch.no_grad():
                        p = model(X).softmax(1)
                    out["el2n"][row] = (p - F.one_hot(y, K)).norm(dim=1).cpu().numpy()
                    sync(device)
                    t0 = time.perf_counter()
                    params = list(model.parameters())
                    for i in range(grand_n):  # the per-example loop
                        g = torch.autograd.grad(F.cross_entropy(model(X[i:i + 1]), y[i:i + 1]), params)
                        out["grand"][row, i] = math.sqrt(sum(float(v.pow(2).sum()) for v in g))
                    sync(device)
                    parts["GraNd loop"] += time.perf_counter() - t0
                if step in vog_steps:
                    t0 = time.perf_counter()
                    model.eval()
                    grads = []
                    for i in range(0, N, 1024):
                        xb2 = X[i:i + 1024].clone().requires_grad_(True)
                        sel = model(xb2).gather(1, y[i:i + 1024, None]).sum()
                        grads.append(torch.autograd.grad(sel, xb2)[0].flatten(1).cpu())
                    vog_grads.append(torch.cat(grads))
                    parts["VoG gradients"] += time.perf_counter() - t0
        out["loss"][row] = (loss_sum / count).cpu().numpy()
        out["margin"][row] = (margin_sum / count).cpu().numpy()
        out["forgetting"][row] = torch.where(ever, forgotten, count).cpu().numpy()
        sd_pix = torch.stack(vog_grads).std(0, unbiased=False).mean(1).numpy()
        yy = y.cpu().numpy()
        for c in range(K):
            m = yy == c
            if m.any():
                sd = sd_pix[m].std()
                out["vog"][row, m] = (sd_pix[m] - sd_pix[m].mean()) / (sd if sd > 0 else 1.0)
        t0 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            feats = [X.flatten(1)]
            h = X
            for name, block in model.blocks.items():
                h = block(h)
                if name != "head":
                    feats.append(h.flatten(1))
            final = h.argmax(1).cpu().numpy()
        probes = []
        for f in feats:  # leave-one-out: ask for k + 1 neighbours and drop the example itself
            f = f.cpu().numpy()
            knn = KNeighborsClassifier(n_neighbors=k + 1).fit(f, yy)
            idx = knn.kneighbors(f, return_distance=False)
            nb = np.array([row_[row_ != i][:k] for i, row_ in enumerate(idx)])
            probes.append(np.array([np.bincount(yy[r], minlength=K).argmax() for r in nb]))
        probes = np.stack(probes)
        agree = (probes == final[None])[::-1].cumprod(0).sum(0)
        out["depth"][row] = len(feats) - agree
        parts["k-NN probes"] += time.perf_counter() - t0
    return out, parts, grand_n


ROWS: list = []  # one per compare(), for the results table


def compare(title, build, data, seeds, epochs, batch_size, device, grand_limit=None, repeats=1, plain_seeds=None):
    kw = dict(epochs=epochs, batch_size=batch_size, early_epoch=max(1, round(0.2 * epochs)), vog_checkpoints=5, k=30)
    where = f"CUDA {torch.cuda.get_device_name(0)}" if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"\n{title}: {len(data)} examples {tuple(data.input_shape)}, {len(seeds)} seeds x {epochs} epochs, "
          f"batch {batch_size}, on {where}", flush=True)
    # Untimed warm-up of both ways on a few examples: one-time costs of the process (torch imports
    # its compiler stack when the first optimizer is built, the first vmap call) go to neither.
    few = data.subset(torch.arange(min(len(data), 2 * batch_size)))
    warm = dict(kw, epochs=2, early_epoch=1)
    dif.compute_scores(build, few, seeds=seeds[:2], device=device, progress=False, **warm)
    plain_scores(build, few, seeds[:1], device=device, grand_limit=4, **warm)
    best = {"labkit": (math.inf, math.inf), "plain": (math.inf, math.inf)}
    for _ in range(repeats):  # alternate, keep the best of each: a busy machine penalises both alike
        sync(device)
        wall, cpu = time.perf_counter(), time.process_time()
        lab = dif.compute_scores(build, data, seeds=seeds, device=device, progress=False, **kw)
        sync(device)
        w, c = time.perf_counter() - wall, time.process_time() - cpu
        best["labkit"] = (min(best["labkit"][0], w), min(best["labkit"][1], c))
        wall, cpu = time.perf_counter(), time.process_time()
        ps = seeds[:plain_seeds] if plain_seeds else seeds
        plain, parts, grand_n = plain_scores(build, data, ps, device=device, grand_limit=grand_limit, **kw)
        sync(device)
        w, c = time.perf_counter() - wall, time.process_time() - cpu
        if grand_n < len(data):  # the loop covered a part: scale its time up to the whole set
            extra = parts["GraNd loop"] * (len(data) / grand_n - 1)
            w, c, parts["GraNd loop"] = w + extra, c + extra, parts["GraNd loop"] + extra
        if len(ps) < len(seeds):  # one run after another: the time grows with the number of seeds
            f = len(seeds) / len(ps)
            w, c, parts = w * f, c * f, {k: v * f for k, v in parts.items()}
        best["plain"] = (min(best["plain"][0], w), min(best["plain"][1], c))
    (lw, lc), (pw, pc) = best["labkit"], best["plain"]
    parts = {"training and bookkeeping": pw - sum(parts.values()), **parts}
    print(f"  labkit {lw:8.1f} s wall {lc:8.1f} s cpu  ({', '.join(f'{k} {v:.1f} s' for k, v in lab.seconds.items())})")
    extra = f"; GraNd loop timed on {grand_n} of {len(data)} examples and scaled up" if grand_n < len(data) else ""
    if plain_seeds and plain_seeds < len(seeds):
        extra += f"; timed on {plain_seeds} seeds and scaled to {len(seeds)}"
    print(f"  plain  {pw:8.1f} s wall {pc:8.1f} s cpu  ({', '.join(f'{k} {v:.1f} s' for k, v in parts.items())}{extra})")
    print(f"  ratio  {pw / lw:8.1f}x wall {pc / lc:7.1f}x cpu")
    agree = []
    for s in dif.SCORES:
        a, b = lab.per_seed[s].mean(0), plain[s].mean(0)  # (the plain way's mean may cover fewer seeds)
        if grand_n < len(data) and s == "grand":
            a, b = a[:grand_n], b[:grand_n]
        agree.append(f"{s} {spearmanr(a, b).statistic:.2f}")
    print("  Spearman between the two ways' seed-averaged scores (different batch orders): " + ", ".join(agree),
          flush=True)
    ROWS.append([title, f"{len(seeds)} × {epochs}", f"{lw:.1f} / {lc:.1f} s", f"{pw:.1f} / {pc:.1f} s{extra}",
                 f"**{pw / lw:.1f}×** / {pc / lc:.1f}×", ", ".join(agree)])
    return pw / lw, pc / lc


COLUMNS = ["data and model", "seeds × epochs", "labkit (wall / CPU)", "plain (wall / CPU)", "ratio (wall / CPU)",
           "Spearman between the two ways' scores"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice); 1 is faster on a busy 2-core machine")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run (the lecture's class scale: 30)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each way; the best is kept")
    parser.add_argument("--full", action="store_true", help="GPU: MNIST-sized and CIFAR-10-sized data")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    lk.seed_everything(0)
    device = lk.get_device()
    machine = machine_line()
    seeds = [0, 1, 2, 3, 4]
    if not args.full:
        train = lk.data.train_val_test_split(lk.data.load_digits(), seed=0).train
        build = lambda: lk.models.MLP(train.input_shape, 10, hidden=(128,) * 4)
        wall, cpu = compare("digits (the lecture's MLP 4x128)", build, train, seeds, args.epochs, 128, device,
                            repeats=args.repeats)
        verdict = f"target ≥ {TARGET_CPU:g}× on a CPU (wall time): {'met' if wall >= TARGET_CPU else 'NOT met'}"
        write_results("difficulty_speed", machine, [(verdict if device.type == "cpu" else "", COLUMNS, ROWS)])
        if device.type != "cpu":
            return 0
        return 0 if wall >= TARGET_CPU else 1
    if device.type != "cuda":
        print("--full is meant for a GPU; running it on a CPU would take hours.")
        return 1
    g = torch.Generator().manual_seed(0)
    try:
        mnist = lk.data.load_real("mnist", download=False).subset(torch.arange(20_000))
        name = "MNIST (20,000 training images)"
    except (FileNotFoundError, RuntimeError):
        mnist = lk.data.Data(torch.rand(20_000, 1, 28, 28, generator=g), torch.randint(0, 10, (20_000,), generator=g))
        name = "MNIST-sized random tensors (20,000 x 1x28x28)"
    cifar = lk.data.Data(torch.rand(10_000, 3, 32, 32, generator=g), torch.randint(0, 10, (10_000,), generator=g))
    mlp = lambda: lk.models.MLP(mnist.input_shape, 10, hidden=(256,) * 4)
    cnn = lambda: lk.models.SmallCNN(cifar.input_shape, 10, width=32, depth=3, norm="group")
    compare(name + ", MLP 4x256", mlp, mnist, seeds, args.epochs, 256, device, grand_limit=2000, plain_seeds=2)
    compare("CIFAR-10-sized random tensors (10,000 x 3x32x32), CNN 32-64-128 with GroupNorm", cnn, cifar, seeds,
            min(args.epochs, 10), 256, device, grand_limit=1000, plain_seeds=1)
    write_results("difficulty_speed", machine, [("", COLUMNS, ROWS)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
