"""k-nearest-neighbour probes on any representation (L2's prediction depth, L4's density and
diversity queries)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..validation import check_features, check_labels, check_positive_int


def knn_predict(support, support_labels, query=None, k: int = 30, n_classes: int | None = None,
                batch_size: int = 1024) -> torch.Tensor:
    """Majority vote of the ``k`` nearest (Euclidean) support points for each query point.

    ``query=None`` queries the support set itself, leaving each point out of its own vote.
    Ties go to the smallest class index. Computed in batches of queries with ``torch.cdist``.
    support [N, ...] and query [M, ...] are flattened; returns predicted labels [M] (or [N]).
    """
    support = check_features(support, "support", min_dim=2, max_dim=5).flatten(1)
    labels = check_labels(support_labels, n=len(support), name="support_labels").to(support.device)
    loo = query is None
    query = support if loo else check_features(query, "query", min_dim=2, max_dim=5).flatten(1).to(support.device)
    if query.shape[1] != support.shape[1]:
        raise ValueError(f"query has {query.shape[1]} features but support has {support.shape[1]}")
    k = check_positive_int(k, "k")
    if k > len(support) - int(loo):
        raise ValueError(f"k={k} but only {len(support) - int(loo)} support points are available")
    n_classes = int(labels.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes", int(labels.max()) + 1)
    check_positive_int(batch_size, "batch_size")
    out = []
    for i in range(0, len(query), batch_size):
        d = torch.cdist(query[i:i + batch_size], support)
        if loo:
            rows = torch.arange(d.shape[0], device=d.device)
            d[rows, rows + i] = float("inf")
        nn_idx = d.topk(k, dim=1, largest=False).indices
        votes = F.one_hot(labels[nn_idx], n_classes).sum(1)
        out.append(votes.argmax(1))
    return torch.cat(out)
