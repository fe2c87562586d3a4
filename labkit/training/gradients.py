"""Per-example gradients with torch.func, for one model or all members at once (no Python loop
over examples): gradient norms (L2's GraNd, L4's expected gradient length) and input gradients
(L2's VoG)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from ..validation import check_features, check_labels, check_positive_int
from .evaluation import as_data
from .members import as_members, eval_mode


def per_example_grad_norms(model, data, batch_size: int | None = None) -> torch.Tensor:
    """The L2 norm of each example's cross-entropy gradient w.r.t. all parameters, in eval mode
    (BatchNorm uses its running statistics). Returns [N] for an nn.Module and [S, N] for an
    :class:`Ensemble` of S models (all computed at once), on the CPU.

    Exact, and computed without a Python loop over examples:

    - for every ``nn.Linear`` applied once to a batch of vectors, the example's weight gradient is
      the outer product of its output gradient g and its input a, so its squared norm is
      ``|g|^2 |a|^2`` (plus ``|g|^2`` for the bias). One forward and one ``torch.func.grad`` pass
      over the batch give g and a for every example; the per-example weight gradients are never
      materialised.
    - every other parameter (convolutions, normalisation layers, ...) gets its per-example
      gradients from ``torch.func.vmap(grad(...))`` over examples.

    ``batch_size`` examples are processed at a time (default: as many as keep the per-example
    gradients of the non-linear layers near 16 M numbers on a CPU, 256 M on a GPU).
    """
    data = as_data(data)
    single = isinstance(model, nn.Module)
    template, params, buffers = stacked_state(model)
    device = next(iter(params.values())).device
    X = check_features(data.X).to(device)
    y = check_labels(data.y, n=len(X)).to(device)
    if batch_size is not None:
        check_positive_int(batch_size, "batch_size")
    with eval_mode(template):
        sq = _grad_sq_norms(template, params, buffers, X, y, batch_size)
    out = sq.sqrt().cpu()
    return out[0] if single else out


def stacked_state(model) -> tuple[nn.Module, dict, dict]:
    """(a module to call with ``functional_call``, parameters [S, ...], buffers [S, ...]), detached,
    for an :class:`Ensemble` of S models or one nn.Module (S = 1)."""
    members = as_members(model)
    return (members.template, {k: v.detach() for k, v in members.stacked_params().items()},
            {k: v.detach() for k, v in members.stacked_buffers().items()})


class _NotFactorable(Exception):
    """A linear layer used in a way the outer-product identity does not cover."""


def _factorable_linears(template: nn.Module, params: dict) -> dict:
    """The nn.Linear modules whose parameters are all in ``params``, by qualified name."""
    out = {}
    for name, m in template.named_modules():
        if isinstance(m, nn.Linear):
            own = [f"{name}.{k}" for k, _ in m.named_parameters(recurse=False)]
            if own and all(k in params for k in own):
                out[name] = m
    return out


def _linear_sq_norms(template, linears: dict, p, b, x, t) -> torch.Tensor:
    """Per-example squared gradient norm of the parameters of ``linears`` for one model: [n].

    A zero "probe" is added to each linear layer's output, so the gradient of the summed loss
    w.r.t. the probe is every example's output gradient g; the hook also records |a|^2 of the
    layer's input. Each example's loss depends only on its own row (eval mode), so the sum's
    gradient row i is example i's own gradient.
    """
    probes = {name: x.new_zeros(len(x), m.out_features) for name, m in linears.items()}

    def summed_loss(probes):
        in_sq = {}

        def hook(name):
            def add_probe(module, inputs, output):
                a = inputs[0]
                if name in in_sq or a.dim() != 2:  # called twice, or on sequences: not an outer product
                    raise _NotFactorable(name)
                in_sq[name] = a.float().pow(2).sum(1)
                return output + probes[name]
            return add_probe

        handles = [m.register_forward_hook(hook(name)) for name, m in linears.items()]
        try:
            out = functional_call(template, (p, b), (x,))
        finally:
            for h in handles:
                h.remove()
        return F.cross_entropy(out.float(), t, reduction="sum"), in_sq

    g, in_sq = grad(summed_loss, has_aux=True)(probes)
    sq = x.new_zeros(len(x))
    for name, m in linears.items():
        sq = sq + g[name].pow(2).sum(1) * (in_sq[name] + (1.0 if m.bias is not None else 0.0))
    return sq


def _grad_sq_norms(template, params, buffers, X, y, batch_size, use_identity: bool = True) -> torch.Tensor:
    """[S, N] squared per-example gradient norms for S stacked models (see per_example_grad_norms);
    ``use_identity=False`` takes every parameter through ``vmap(grad)``."""
    S = next(iter(params.values())).shape[0]
    linears = _factorable_linears(template, params) if use_identity else {}
    lin_names = {f"{n}.{k}" for n, m in linears.items() for k, _ in m.named_parameters(recurse=False)}
    lin_p = {k: v for k, v in params.items() if k in lin_names}
    other_p = {k: v for k, v in params.items() if k not in lin_names}

    def other_loss(po, pl, b, x, t):
        out = functional_call(template, ({**pl, **po}, b), (x.unsqueeze(0),))
        return F.cross_entropy(out.float(), t.unsqueeze(0))

    per_other = vmap(vmap(grad(other_loss), in_dims=(None, None, None, 0, 0)), in_dims=(0, 0, 0, None, None))
    per_linear = vmap(lambda p, b, x, t: _linear_sq_norms(template, linears, p, b, x, t),
                      in_dims=(0, 0, None, None))
    n_other = sum(v[0].numel() for v in other_p.values())
    budget = 2**28 if X.device.type == "cuda" else 2**24
    chunk = batch_size or max(1, min(4096, budget // max(1, S * n_other)))
    out = []
    for i in range(0, len(X), chunk):
        x, t = X[i:i + chunk], y[i:i + chunk]
        sq = torch.zeros(S, len(x), device=X.device)
        if linears:
            try:
                sq = sq + per_linear(params, buffers, x, t)
            except _NotFactorable:
                return _grad_sq_norms(template, params, buffers, X, y, batch_size, use_identity=False)
        if other_p:
            g = per_other(other_p, lin_p, buffers, x, t)
            sq = sq + sum(v.flatten(2).pow(2).sum(2) for v in g.values())
        out.append(sq)
    return torch.cat(out, dim=1)




def input_gradients(model, X, y, batch_size: int = 1024) -> torch.Tensor:
    """Gradient of the logit of label ``y`` w.r.t. the input, per example and member: [S, N, *input]
    (S = 1 for one nn.Module), on the CPU.

    In eval mode every example's logit depends only on its own input, so one gradient of the
    summed logits gives all examples' gradients; ``vmap`` runs it for every member at once.
    """
    template, params, buffers = stacked_state(model)
    device = next(iter(params.values())).device
    X = check_features(X, "X", min_dim=2, max_dim=5).to(device)
    y = check_labels(y, n=len(X)).to(device)
    check_positive_int(batch_size, "batch_size")

    def label_logits(p, b, x, t):
        out = functional_call(template, (p, b), (x,))
        return out.float().gather(1, t[:, None]).sum()

    per_model = vmap(grad(label_logits, argnums=2), in_dims=(0, 0, None, None))
    with eval_mode(template):
        out = [per_model(params, buffers, X[i:i + batch_size], y[i:i + batch_size]).cpu()
               for i in range(0, len(X), batch_size)]
    return torch.cat(out, dim=1)

