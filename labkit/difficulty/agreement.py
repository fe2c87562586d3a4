"""Agreement between scores, between seeds and between architectures (L2 §2 and §4)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..results import Result, Rows
from ..validation import check_option, check_positive_int


def _as_matrix(values, name: str) -> np.ndarray:
    """A 2-D float array [S, N] (a 1-D input becomes one row)."""
    a = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"{name} must have shape [seeds, examples], got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def score_correlations(scores: dict[str, np.ndarray], method: str = "spearman") -> pd.DataFrame:
    """Correlation matrix between score vectors (a dict name -> [N]); ``spearman`` (ranks, with
    scipy) or ``pearson``."""
    check_option(method, "method", ("spearman", "pearson"))
    if len(scores) < 2:
        raise ValueError("give at least two scores to correlate")
    names = list(scores)
    M = np.column_stack([np.asarray(scores[n], dtype=float).reshape(-1) for n in names])
    if method == "spearman":
        from scipy.stats import spearmanr
        C = spearmanr(M).statistic
    else:
        C = np.corrcoef(M, rowvar=False)
    return pd.DataFrame(np.atleast_2d(C), index=names, columns=names)


@dataclass
class SeedAgreement(Rows):
    """The result of :func:`seed_agreement`: ``rows`` has one row per number of runs averaged, with
    the columns ``runs_averaged`` (m), ``spearman_mean`` and ``spearman_std`` (the rank correlation
    with the reference, mean and standard deviation over the draws)."""


def seed_agreement(per_seed, n_reference: int | None = None, sizes: Sequence[int] | None = None,
                   n_draws: int = 20, seed: int = 0) -> SeedAgreement:
    """How well an average of m runs ranks examples like an independent many-run reference.

    For each draw the seeds are shuffled; ``n_reference`` of them (default half) form the reference
    (their mean), and for each m in ``sizes`` (default 1 .. the remaining seeds) the mean of m of
    the other seeds is rank-correlated (Spearman) with it.

    Returns
    -------
    SeedAgreement
        Its ``table()`` has one row per m (in the order of ``sizes``) with the columns
        ``runs_averaged``, ``spearman_mean`` and ``spearman_std`` (over the ``n_draws`` draws).
    """
    from scipy.stats import spearmanr
    A = _as_matrix(per_seed, "per_seed")
    S = A.shape[0]
    n_reference = S // 2 if n_reference is None else check_positive_int(n_reference, "n_reference")
    if S - n_reference < 1 or n_reference < 1:
        raise ValueError(f"seed_agreement needs at least 2 seeds and 1 outside the reference; "
                         f"got {S} seeds and n_reference={n_reference}")
    sizes = list(range(1, S - n_reference + 1)) if sizes is None else [int(m) for m in sizes]
    for m in sizes:
        if not 1 <= m <= S - n_reference:
            raise ValueError(f"size {m} is impossible with {S} seeds and {n_reference} for the reference")
    rng = np.random.default_rng(seed)
    rho = {m: [] for m in sizes}
    for _ in range(check_positive_int(n_draws, "n_draws")):
        order = rng.permutation(S)
        ref = A[order[:n_reference]].mean(0)
        pool = order[n_reference:]
        for m in sizes:
            pick = rng.choice(pool, size=m, replace=False)
            rho[m].append(spearmanr(A[pick].mean(0), ref).statistic)
    return SeedAgreement(pd.DataFrame({"runs_averaged": sizes, "spearman_mean": [np.mean(rho[m]) for m in sizes],
                                       "spearman_std": [np.std(rho[m]) for m in sizes]}))


def auroc(scores, positives) -> float:
    """Area under the ROC curve of ``scores`` for detecting ``positives`` (bool) — scikit-learn's."""
    from sklearn.metrics import roc_auc_score
    s = np.asarray(scores, dtype=float).reshape(-1)
    pos = np.asarray(positives.cpu() if isinstance(positives, torch.Tensor) else positives).astype(bool).reshape(-1)
    if len(s) != len(pos):
        raise ValueError(f"{len(s)} scores but {len(pos)} positive flags")
    if pos.all() or not pos.any():
        raise ValueError("AUROC needs both positive and negative examples")
    return float(roc_auc_score(pos, s))


def rank_percentiles(values) -> np.ndarray:
    """Ranks scaled to [0, 1] along the last axis (0 = smallest), ties averaged."""
    from scipy.stats import rankdata
    a = np.asarray(values, dtype=float)
    return (rankdata(a, axis=-1) - 1) / max(1, a.shape[-1] - 1)


def architecture_disagreement(hardness_a, hardness_b) -> np.ndarray:
    """Per example: rank percentile of its hardness under architecture A minus under B ([N];
    positive = harder for A). Inputs are seed-averaged hardness vectors [N] or per-seed [S, N]."""
    a = np.asarray(hardness_a, dtype=float)
    b = np.asarray(hardness_b, dtype=float)
    a = a.mean(0) if a.ndim == 2 else a
    b = b.mean(0) if b.ndim == 2 else b
    if a.shape != b.shape:
        raise ValueError(f"the two hardness vectors differ in length: {a.shape} vs {b.shape}")
    return rank_percentiles(a) - rank_percentiles(b)


@dataclass
class ArchitectureProbe(Result):
    """The result of :func:`architecture_probe`.

    Attributes
    ----------
    accuracy : float, cross-validated accuracy of telling the architectures apart from the chosen
        examples' scores
    accuracy_random_examples : float, the same from as many random examples (the baseline)
    examples : int array [n_examples], the chosen examples (largest mean rank difference first)
    random_examples : int array [n_examples], the random ones
    n_eval_runs : int, the runs (of both architectures together) the classifier was scored on
    """

    accuracy: float
    accuracy_random_examples: float
    examples: np.ndarray
    random_examples: np.ndarray
    n_eval_runs: int

    def table(self) -> pd.DataFrame:
        """One row per choice of examples, indexed by ``examples`` (``"largest rank difference"``,
        ``"random"``), with the columns ``accuracy``, ``n_examples`` and ``n_eval_runs``."""
        return pd.DataFrame({"accuracy": [self.accuracy, self.accuracy_random_examples],
                             "n_examples": [len(self.examples), len(self.random_examples)],
                             "n_eval_runs": self.n_eval_runs},
                            index=pd.Index(["largest rank difference", "random"], name="examples"))


def architecture_probe(per_seed_a, per_seed_b, n_examples: int = 10, n_select: int | None = None,
                       folds: int = 4, seed: int = 0) -> ArchitectureProbe:
    """Can the scores of a handful of examples tell which architecture produced a run?

    The seeds of each architecture are split: the first ``n_select`` (default half) pick the
    ``n_examples`` examples whose mean rank differs most between A and B; on the remaining runs
    a logistic regression (scikit-learn) sees only those examples' scores (ranked within each run)
    and predicts the architecture, scored by stratified cross-validation. The same with
    ``n_examples`` random examples is the baseline.

    Returns
    -------
    ArchitectureProbe
        ``accuracy`` and ``accuracy_random_examples``, the ``examples`` chosen and the
        ``random_examples``, and ``n_eval_runs``; its ``table()`` has one row per choice of
        examples with ``accuracy``, ``n_examples`` and ``n_eval_runs``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    A = _as_matrix(per_seed_a, "per_seed_a")
    B = _as_matrix(per_seed_b, "per_seed_b")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"the two architectures scored different numbers of examples: {A.shape[1]} vs {B.shape[1]}")
    n_select = min(A.shape[0], B.shape[0]) // 2 if n_select is None else n_select
    ra, rb = rank_percentiles(A), rank_percentiles(B)
    eval_a, eval_b = ra[n_select:], rb[n_select:]
    if min(len(eval_a), len(eval_b)) < folds:
        raise ValueError(f"after {n_select} selection runs only {min(len(eval_a), len(eval_b))} runs per "
                         f"architecture remain for {folds}-fold cross-validation; train more seeds")
    if n_select < 1:
        raise ValueError("n_select must be at least 1")
    diff = ra[:n_select].mean(0) - rb[:n_select].mean(0)
    chosen = np.argsort(-np.abs(diff), kind="stable")[:check_positive_int(n_examples, "n_examples")]
    random_pick = np.random.default_rng(seed).choice(A.shape[1], n_examples, replace=False)
    labels = np.r_[np.zeros(len(eval_a)), np.ones(len(eval_b))]
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)

    def score(cols):
        X = np.vstack([eval_a[:, cols], eval_b[:, cols]])
        return float(cross_val_score(LogisticRegression(max_iter=1000), X, labels, cv=cv).mean())

    return ArchitectureProbe(accuracy=score(chosen), accuracy_random_examples=score(random_pick),
                             examples=chosen, random_examples=random_pick, n_eval_runs=int(len(labels)))
