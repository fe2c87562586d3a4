"""Magnitude pruning with ``torch.nn.utils.prune``, and fine-tuning through labkit's one loop.

A pruned module (one carrying ``weight_orig`` and a ``weight_mask`` buffer with a forward
pre-hook) cannot be deep-copied (pytorch issue #37322), and labkit's trainers copy their template.
So the masks are computed with ``torch.nn.utils.prune`` on a throw-away copy of the model, the
pruning is made permanent there with ``prune.remove``, and only the masks come back: plain 0/1
tensors keyed by parameter name (``"blocks.fc1.0.weight"``). ``lk.fit(model, ..., masks=masks)``
then keeps the pruned weights at exactly zero after every optimizer step.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import prune

from ..validation import check_fraction, check_positive_int

__all__ = ["PRUNABLE", "prunable_layers", "global_magnitude_masks", "channel_masks", "threshold_masks",
           "apply_masks", "sparsity", "effective_sparsity", "masked_weights"]

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)


def prunable_layers(model: nn.Module, include_head: bool = True) -> list[tuple[str, nn.Module]]:
    """``[(name, module)]`` of every Linear/Conv layer of ``model`` (``name`` as in named_modules)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch nn.Module, got {type(model).__name__}")
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE)]
    if not include_head:
        layers = [(n, m) for n, m in layers if ".head" not in f".{n}" and not n.startswith("head")]
    if not layers:
        raise ValueError("the model has no Linear or Conv layer to prune")
    return layers


def _copy_layers(model, include_head):
    clone = copy.deepcopy(model)  # the original is never touched by torch.nn.utils.prune
    return clone, prunable_layers(clone, include_head)


def global_magnitude_masks(model: nn.Module, amount: float, include_head: bool = True) -> dict[str, torch.Tensor]:
    """Masks of global unstructured L1 pruning: the ``amount`` share of all weights of the
    Linear/Conv layers with the smallest |w|, ranked across layers together (biases kept).

    Computed with ``prune.global_unstructured(..., pruning_method=prune.L1Unstructured)`` on a copy,
    then ``prune.remove``; returns ``{parameter name: 0/1 float tensor shaped like the weight}``.
    Weights that are already zero count as the smallest, so pruning a pruned model further is
    the iterative schedule.
    """
    amount = check_fraction(amount, "amount", 0.0, 1.0, inclusive_high=False)
    clone, layers = _copy_layers(model, include_head)
    params = [(m, "weight") for _, m in layers]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    masks = {f"{n}.weight": m.weight_mask.detach().clone() for n, m in layers}
    for m, _ in params:
        prune.remove(m, "weight")
    return masks


def channel_masks(model: nn.Module, amount: float, n: int = 2, include_head: bool = False) -> dict[str, torch.Tensor]:
    """Masks of structured pruning: in each layer the ``amount`` share of output units (rows of a
    Linear weight, output channels of a conv) with the smallest L``n`` norm, removed whole
    (``prune.ln_structured(..., dim=0)``). The head is kept by default: its rows are the classes.

    Returns ``{"<layer>.weight": mask, "<layer>.bias": mask}``: a removed unit loses its bias too,
    so it outputs exactly zero and the layer could be replaced by a smaller dense one.
    """
    amount = check_fraction(amount, "amount", 0.0, 1.0, inclusive_high=False)
    n = check_positive_int(n, "n")
    clone, layers = _copy_layers(model, include_head)
    masks = {}
    for name, m in layers:
        prune.ln_structured(m, "weight", amount=amount, n=n, dim=0)
        mask = m.weight_mask.detach().clone()
        prune.remove(m, "weight")
        masks[f"{name}.weight"] = mask
        if m.bias is not None:
            masks[f"{name}.bias"] = mask.flatten(1).amax(1)
    return masks


def threshold_masks(weights: dict[str, torch.Tensor], amount: float) -> dict[str, torch.Tensor]:
    """The same global magnitude masks computed directly: one threshold over all |w| together.

    ``weights``: name -> tensor. Keeps the ``round((1 - amount) * total)`` largest |w| (ties broken
    by position), which is what ``prune.global_unstructured`` with L1 keeps. For tests and the
    exercise; use :func:`global_magnitude_masks` on a model.
    """
    amount = check_fraction(amount, "amount", 0.0, 1.0, inclusive_high=False)
    if not weights:
        raise ValueError("weights is empty; give at least one tensor")
    flat = torch.cat([w.detach().abs().flatten().float() for w in weights.values()])
    n_prune = int(round(amount * flat.numel()))
    keep = torch.ones_like(flat)
    if n_prune:
        keep[torch.topk(flat, n_prune, largest=False).indices] = 0
    out, start = {}, 0
    for name, w in weights.items():
        out[name] = keep[start:start + w.numel()].view_as(w)
        start += w.numel()
    return out


def _params(model):
    return dict(model.named_parameters())


def _check_masks(model, masks):
    params = _params(model)
    for name, mask in masks.items():
        if name not in params:
            raise ValueError(f"masks names {name!r}, which is not a parameter of the model")
        if tuple(mask.shape) != tuple(params[name].shape):
            raise ValueError(f"mask {name!r} has shape {tuple(mask.shape)}, the parameter {tuple(params[name].shape)}")
    return params


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Zero ``model``'s pruned weights in place (``param *= mask``) and return it."""
    params = _check_masks(model, masks)
    for name, mask in masks.items():
        params[name].mul_(mask.to(params[name].device, params[name].dtype))
    return model


def sparsity(masks: dict[str, torch.Tensor]) -> float:
    """The share of masked-out entries over all masked tensors."""
    if not masks:
        raise ValueError("masks is empty")
    total = sum(m.numel() for m in masks.values())
    return float(sum((m == 0).sum().item() for m in masks.values()) / total)


def masked_weights(model: nn.Module, include_head: bool = True) -> dict[str, torch.Tensor]:
    """``{parameter name: weight}`` of the prunable layers (the tensors the masks refer to)."""
    return {f"{n}.weight": m.weight.detach() for n, m in prunable_layers(model, include_head)}


def effective_sparsity(model: nn.Module, masks: dict[str, torch.Tensor]) -> float:
    """The share of all the weights of a chain of Linear layers (head included) that no longer
    contribute: masked out, or reading a unit that the layer before lost whole (its row of weights
    and its bias masked, so it outputs 0). What channel pruning removes, counted like the weights
    that unstructured pruning removes (L7 §1 compares the two at equal counts)."""
    layers = prunable_layers(model, include_head=True)
    if not layers or not all(isinstance(m, nn.Linear) for _, m in layers):
        raise TypeError("effective_sparsity follows units through Linear layers; this model has "
                        + ", ".join(sorted({type(m).__name__ for _, m in layers})) or "no prunable layers")
    dead, zero, total = None, 0, 0
    for name, m in layers:
        keep = masks.get(f"{name}.weight", torch.ones_like(m.weight)).to(torch.bool).clone()
        if dead is not None and dead.numel() == keep.shape[1]:
            keep[:, dead] = False
        zero, total = zero + int((~keep).sum()), total + keep.numel()
        bias = masks.get(f"{name}.bias")
        if m.bias is None:
            silent = torch.ones(len(keep), dtype=torch.bool)
        else:  # a unit whose bias survives still sends relu(bias) on: the next layer reads it
            silent = bias.to(torch.bool).logical_not() if bias is not None else torch.zeros(len(keep), dtype=torch.bool)
        dead = ~keep.any(1) & silent
    return zero / total
