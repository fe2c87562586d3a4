"""Prediction depth (Baldock et al. 2021; L2 §6): the first layer from which k-NN probes on every
later block's output agree with the network's final prediction."""
from __future__ import annotations

import torch
from torch import nn

from ..data.core import Data
from ..probes import block_features, knn_predict
from ..training import predict_logits


def depth_from_probes(probe_preds, final_pred) -> torch.Tensor:
    """Prediction depth from k-NN probe predictions ``probe_preds`` [L, N] (layers in order, the
    input first) and the network's prediction ``final_pred`` [N]: the smallest l such that every
    probe l, l+1, ..., L-1 predicts ``final_pred``; L when even the last probe disagrees (the
    decision is made only by the output layer)."""
    p = torch.as_tensor(probe_preds)
    f = torch.as_tensor(final_pred).to(p.device)
    if p.dim() != 2 or p.shape[1] != len(f):
        raise ValueError(f"probe_preds must be [layers, N] with N={len(f)}, got {tuple(p.shape)}")
    agree = (p == f).flip(0).int()                      # from the last layer backwards
    run = agree.cumprod(0).sum(0)                       # how many final layers agree in a row
    return (p.shape[0] - run).float()


def prediction_depth(model: nn.Module, support: Data, query: Data | None = None, k: int = 30,
                     batch_size: int = 1024) -> torch.Tensor:
    """Prediction depth of each example of ``query`` (default: the support set itself, each example
    left out of its own vote) for one model: k-NN probes with the support set's given labels on
    the input and on every block's output before the head. Values 0 .. number of hidden blocks + 1."""
    return _depths(model, support, [query], k, batch_size)[0]


def _input_probes(support: Data, queries: list, k: int, batch_size: int = 1024) -> list:
    """The k-NN predictions on the raw input: the same for every model, so computed once."""
    return [knn_predict(support.X, support.y, None if q is None else q.X.to(support.X.device), k=k,
                        n_classes=support.n_classes, batch_size=batch_size) for q in queries]


def _depths(model: nn.Module, support: Data, queries: list, k: int, batch_size: int = 1024,
            input_probes: list | None = None) -> list:
    """Prediction depths for several query sets (None: the support set, leave-one-out), reusing
    the support set's block outputs and, if given, the input-layer probes."""
    feats = block_features(model, support.X, batch_size)
    out = []
    for j, query in enumerate(queries):
        target = support if query is None else query
        qfeats = None if query is None else block_features(model, query.X, batch_size)
        final = predict_logits(model, target.X, batch_size).argmax(1)
        probes = []
        for layer, f in enumerate(feats):
            if layer == 0 and input_probes is not None:
                probes.append(input_probes[j].to(final.device))
                continue
            probes.append(knn_predict(f, support.y, None if qfeats is None else qfeats[layer], k=k,
                                      n_classes=support.n_classes, batch_size=batch_size))
        # the layers are the probes plus the head, so a full disagreement gives len(feats)
        out.append(depth_from_probes(torch.stack(probes), final).cpu())
    return out
