"""A convolution is a sparse fully connected layer with shared weights.

:func:`conv_as_dense` builds the dense matrix W of a Conv1d/Conv2d for one input shape, such that
``W @ x.flatten() + b == conv(x).flatten()``, by applying the convolution without its bias to every
basis input e_i at once (one batched call: column i of W is conv(e_i)). Most entries of W are zero
(each output sees only a kernel-sized window) and the nonzeros repeat the same few kernel values.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["conv_as_dense", "dense_summary"]


def _check_conv(conv, input_shape):
    if not isinstance(conv, (nn.Conv1d, nn.Conv2d)):
        raise TypeError(f"conv must be an nn.Conv1d or nn.Conv2d, got {type(conv).__name__}")
    dims = 1 if isinstance(conv, nn.Conv1d) else 2
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != dims + 1:
        want = "(C, L)" if dims == 1 else "(C, H, W)"
        raise ValueError(f"input_shape must be {want} for an {type(conv).__name__} (no batch axis), got {shape}")
    if shape[0] != conv.in_channels:
        raise ValueError(f"input_shape has {shape[0]} channels but the conv expects {conv.in_channels}")
    if min(shape) < 1:
        raise ValueError(f"input_shape must be positive, got {shape}")
    return shape


@torch.no_grad()
def conv_as_dense(conv: nn.Module, input_shape) -> tuple[torch.Tensor, torch.Tensor]:
    """The dense matrix ``W`` [out_numel, in_numel] and bias vector ``b`` [out_numel] of ``conv``
    on inputs of shape ``input_shape`` ((C, L) or (C, H, W), no batch axis).

    Any stride, padding (also ``padding="same"`` and non-zero padding modes), dilation and groups.
    ``b`` repeats each channel's bias over the output positions (zeros without a bias). Then for x
    of ``input_shape``: ``W @ x.flatten() + b`` equals ``conv(x[None]).flatten()``.

    Returns
    -------
    tuple[torch.Tensor, torch.Tensor]
        ``(W, b)``: W [out_numel, in_numel] and b [out_numel].
    """
    shape = _check_conv(conv, input_shape)
    n_in = 1
    for d in shape:
        n_in *= d
    weight = conv.weight
    basis = torch.eye(n_in, dtype=weight.dtype, device=weight.device).reshape(n_in, *shape)
    try:
        out = conv._conv_forward(basis, weight, None)  # [n_in, C_out, *out_spatial], no bias
    except RuntimeError as err:
        raise ValueError(f"the conv cannot take inputs of shape {shape}: {err}") from None
    W = out.reshape(n_in, -1).T.contiguous()
    positions = out[0, 0].numel()
    bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels, dtype=weight.dtype,
                                                                device=weight.device)
    return W, bias.detach().repeat_interleave(positions)


def dense_summary(conv: nn.Module, input_shape) -> dict[str, int | float | tuple[int, int]]:
    """Counts that show what the dense matrix is: its size, the share of zeros, how many distinct
    values its nonzeros take (weight sharing) against the conv's parameters.

    Returns
    -------
    dict[str, int | float | tuple[int, int]]
        ``dense shape`` (out_numel, in_numel), ``dense entries``, ``nonzeros``, ``zero share``,
        ``distinct nonzero values``, ``conv weights`` and ``conv parameters``.
    """
    W, _ = conv_as_dense(conv, input_shape)
    nonzero = W[W != 0]
    return {"dense shape": tuple(W.shape), "dense entries": W.numel(), "nonzeros": int(nonzero.numel()),
            "zero share": 1 - nonzero.numel() / W.numel(), "distinct nonzero values": int(nonzero.unique().numel()),
            "conv weights": conv.weight.numel(),
            "conv parameters": sum(p.numel() for p in conv.parameters())}
