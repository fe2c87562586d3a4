"""Out-of-sample probabilities by cross-fitting: every example predicted by models that never saw
it (L2's label errors; L4 and L5 use them as honest probabilities)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..data.core import Data
from ..training.fit import fit_subsets
from ..validation import check_positive_int


def out_of_sample_proba(build: Callable[[], nn.Module], data: Data, *, n_folds: int = 5,
                        seeds: Sequence[int] = (0,), steps: int = 300, batch_size: int = 128,
                        fold_seed: int = 0, device=None, **fit_kwargs) -> np.ndarray:
    """Predicted probabilities [N, K] for every example from models that never saw it.

    Stratified k-fold cross-fitting (folds from scikit-learn): for each fold, models trained on the
    other folds (one per seed, all folds and seeds at once with :func:`fit_subsets`) predict it,
    and their probabilities are averaged over seeds.
    """
    from sklearn.model_selection import StratifiedKFold
    if not isinstance(data, Data):
        raise TypeError(f"data must be a labkit Data, got {type(data).__name__}")
    n_folds = check_positive_int(n_folds, "n_folds", 2)
    y = data.y.cpu().numpy()
    if np.bincount(y, minlength=data.n_classes).min() < n_folds:
        raise ValueError(f"some class has fewer than n_folds={n_folds} examples; use fewer folds")
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=fold_seed).split(np.zeros(len(y)), y))
    runs = fit_subsets(build, data, [tr for tr, _ in folds], seeds=seeds, steps=steps, batch_size=batch_size,
                       device=device, **fit_kwargs)
    logits = runs.predict_logits(data.X)  # [members, N, K]
    probs = np.zeros((len(data), data.n_classes))
    for f, (_, held) in enumerate(folds):
        rows = [m for m, (i, _) in enumerate(runs.members) if i == f]
        probs[held] = logits[rows][:, torch.as_tensor(held)].softmax(-1).mean(0).cpu().numpy()
    return probs
