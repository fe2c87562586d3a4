"""Gradient routing for the one loop: each member's parameter learns from the input source the
route assigns to it (L1's blocks that learn from clean or from skewed batches)."""
from __future__ import annotations

import torch

from .. import runtime
from .parameters import member_view


def _frozen_stats(members, route: dict, sources: list):
    """For each source k and member s: the BatchNorm modules whose statistics must not move when
    the member's forward pass runs on source k (those whose parameters learn from another source)."""
    if not route:
        return None
    bn = [n for n, m in members.template.named_modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    out = []
    for k in range(len(sources)):
        per_member = []
        for s in range(len(members)):
            per_member.append({b for b in bn if any(n.startswith(b + ".") and int(r[s]) != k for n, r in route.items())})
        out.append(per_member)
    return out


def _routed_backward(members, inputs, sources, idx, yb, criterion, route, frozen_stats, device, use_amp):
    """One forward and one backward pass per input source; each member's parameter gets the
    gradient of the source ``route`` assigns to it (unrouted parameters: the first source).
    Returns the logits and per-member losses of the first source."""
    named = members.named_leaves()
    first, grads = None, [None] * len(named)
    for k, src in enumerate(sources):
        with runtime.autocast(device, enabled=use_amp):
            logits = members.forward(inputs[src][idx], frozen_stats=frozen_stats[k])
            per_member = criterion(logits, yb)
        gk = torch.autograd.grad(per_member.sum(), [leaf for _, leaf in named], allow_unused=True)
        for i, ((name, leaf), g) in enumerate(zip(named, gk)):
            if g is None:
                continue
            r = route.get(name)
            pick = (r == k) if r is not None else torch.full((len(members),), k == 0, device=device)
            g = g * (member_view(pick, leaf) if members.has_member_axis else pick[0].to(g.dtype))
            grads[i] = g if grads[i] is None else grads[i] + g
        if first is None:
            first = (logits, per_member)
    for (_, leaf), g in zip(named, grads):
        # in the parameter's own memory layout: the fused optimizers read a gradient laid out
        # differently (autograd.grad can return a transposed one) as if it were not
        leaf.grad = None if g is None else torch.empty_like(leaf).copy_(g)
    return first


