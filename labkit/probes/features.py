"""What a network's blocks compute: the representations probes are placed on (L2's prediction
depth, L4's embeddings for diversity queries, L6's layer-wise analyses)."""
from __future__ import annotations

import torch
from torch import nn

from ..training.members import eval_mode
from ..validation import check_features, check_positive_int


@torch.inference_mode()
def block_features(model: nn.Module, X, batch_size: int = 1024) -> list:
    """The input and every block's output except the head, flattened: a list of [N, D_l] tensors.
    These are the layers on which prediction depth places its k-NN probes."""
    if not isinstance(model, nn.Module) or not hasattr(model, "block_outputs"):
        raise TypeError(f"block features need a labkit BlockNet (a model with block_outputs), got {type(model).__name__}")
    device = next(model.parameters()).device
    X = check_features(X.X if hasattr(X, "X") else X, "X", min_dim=2, max_dim=5).to(device)
    check_positive_int(batch_size, "batch_size")
    with eval_mode(model):
        parts = [model.block_outputs(X[i:i + batch_size], flatten=True) for i in range(0, len(X), batch_size)]
    names = [n for n in parts[0] if n != "head"]
    return [X.flatten(1)] + [torch.cat([p[n] for p in parts]).float() for n in names]
