"""The benchmarks stay runnable and compare like with like: the plain baselines compute the same
things as labkit, on a few examples (the timings themselves are in benchmarks/README.md, copied
there from the results files the benchmarks write)."""
import re
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import labkit as lk  # noqa: E402
from benchmarks import common, core  # noqa: E402
from benchmarks import difficulty_speed as bench_l2  # noqa: E402
from benchmarks.__main__ import BLOCK, copy_into_readme, readme_blocks, scripts  # noqa: E402
from labkit import difficulty as dif  # noqa: E402


def test_timed_pair_alternates_after_a_warm_up_and_keeps_the_best():
    calls = []
    (w1, c1, r1), (w2, c2, r2) = common.timed_pair(lambda: calls.append("a") or 1, lambda: calls.append("b") or 2,
                                                   repeats=3)
    assert calls == ["a", "b"] * 4 and (r1, r2) == (1, 2)
    assert min(w1, c1, w2, c2) >= 0
    assert common.report("t", (1.0, 2.0), (3.0, 8.0), target=2) == 3.0  # the verdict is the wall-time ratio
    assert "device:" in common.machine_line()


def test_plain_trainer_and_grad_norm_loop_match_labkit(capsys):
    train, test = core.digits_split()
    train = train.subset(torch.arange(256))
    lk.seed_everything(0)
    plain = core.plain_fit(core.build_mlp(train, hidden=(32,)), train, torch.device("cpu"), epochs=30)
    lk.seed_everything(0)
    ours = core.build_mlp(train, hidden=(32,))
    lk.fit(ours, train, epochs=30, batch_size=core.BATCH, seed=0)
    acc_plain, acc_ours = lk.evaluate(plain, test).accuracy, lk.evaluate(ours, test).accuracy
    assert acc_plain > 0.4 and abs(acc_plain - acc_ours) < 0.1, (acc_plain, acc_ours)  # chance: 0.1
    assert core.bench_grad_norms(train, torch.device("cpu"), 10) > 1
    rel = float(capsys.readouterr().out.split("max relative difference")[1].split()[0])
    assert rel < 1e-4


def test_plain_scores_agree_with_labkit():
    data = lk.data.train_val_test_split(lk.data.load_digits(), seed=0).train.subset(torch.arange(300))
    build = lambda: lk.models.MLP(data.input_shape, 10, hidden=(32, 32))  # noqa: E731
    kw = dict(epochs=4, batch_size=64, early_epoch=1, vog_checkpoints=2, k=5)
    ours = dif.compute_scores(build, data, seeds=[0, 1], device="cpu", progress=False, **kw)
    plain, parts, n = bench_l2.plain_scores(build, data, [0, 1], device=torch.device("cpu"), **kw)
    assert n == len(data) and set(parts) == {"GraNd loop", "VoG gradients", "k-NN probes"}
    for score in ("loss", "margin", "el2n", "grand"):  # the batch orders differ, so close, not equal
        rho = spearmanr(ours.per_seed[score].mean(0), plain[score].mean(0)).statistic
        assert rho > 0.7, (score, rho)
    assert np.isfinite(plain["vog"]).all() and plain["depth"].min() >= 0


def test_the_previous_randconv_transform_gives_labkit_features():
    from benchmarks import randconv_speed
    from labkit import randconv as rc

    X = np.random.default_rng(0).standard_normal((70, 40)).astype(np.float32)
    tf = rc.RandomConvFeatures(n_kernels=50, random_state=0, pooling=("ppv", "max", "mean")).fit(X)
    np.testing.assert_allclose(randconv_speed.previous_transform(tf, X), tf.transform(X), atol=1e-5)
    assert rc.RandomConvFeatures._block(40, 2500) * 40 * 2500 * 4 <= 2**19  # a block fits in L2


def test_the_bare_loop_trains_like_lk_fit():
    train, test = core.digits_split()
    lk.seed_everything(0)
    bare = core.bare_fit(core.build_mlp(train, hidden=(32,)), train, torch.device("cpu"), epochs=3)
    lk.seed_everything(0)
    ours = core.build_mlp(train, hidden=(32,))
    lk.fit(ours, train, epochs=3, batch_size=core.BATCH, seed=0)
    # the same permutations, model and optimizer: the same weights up to rounding
    assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(bare.parameters(), ours.parameters()))


def test_every_table_in_the_readme_is_one_a_benchmark_wrote():
    readme = (Path(common.__file__).parent / "README.md").read_text()
    blocks = readme_blocks(readme)
    assert set(blocks) == {s.stem for s in scripts()}, "every benchmark has its results block in the README"
    for name, body in blocks.items():
        path = common.RESULTS / f"{name}.md"
        assert path.exists(), f"run python -m benchmarks.{name} to write {path.name}"
        assert body == path.read_text(), f"the README's copy of {name} is stale: python -m benchmarks --readme"
        assert body.startswith(f"Written by `python -m benchmarks.{name}") and "device:" in body
        assert re.search(r"on 20\d\d-\d\d-\d\d \d\d:\d\d UTC", body), "the results say when they were measured"
    numbers = [line for line in BLOCK.sub("", readme).splitlines() if line.startswith("|") and re.search(r"\d", line)]
    assert not numbers, f"tables of numbers outside the results blocks: {numbers}"


def test_results_are_written_with_their_command_and_copied_into_the_readme(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(sys, "argv", ["demo.py", "--threads", "1"])
    text = common.write_results("demo", "device: CPU (1 threads)", [("title", ["a", "b"], [[1, "2 s"]])])
    assert text.startswith("Written by `python -m benchmarks.demo --threads 1` on 20")
    assert "**title**\n\n| a | b |\n|---|---|\n| 1 | 2 s |\n" in text
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- results: demo -->\nold\n<!-- /results -->\n<!-- results: other -->\nkept\n"
                      "<!-- /results -->\n")
    assert copy_into_readme(readme, tmp_path) == ["demo"]
    assert readme.read_text() == ("before\n<!-- results: demo -->\n" + text + "<!-- /results -->\n"
                                  "<!-- results: other -->\nkept\n<!-- /results -->\n")
