"""The one training loop. Every trainer in labkit (``fit``, ``fit_many``, ``fit_subsets``, L1's
block-wise counterfactual training, and the lectures after it) is this loop with a different batch
source, per-member update rules or gradient routing.

Read top to bottom, one step is:

1. the batch source yields indices [S, B] (row s: member s's batch);
2. each member's logits [S, B, K] on its own inputs; per-example losses, optionally weighted;
3. backward of the sum over members (each member's gradient stays its own), or, with ``route``,
   one backward per input source with each parameter taking the gradient of its own source;
4. one optimizer step for all members; ``update_scale`` then rescales each member's update of a
   parameter (0 freezes it, 0.1 is a ten times smaller learning rate) and ``masks`` keep pruned
   weights at zero;
5. callbacks (``on_start`` before the first step, ``on_step`` after each, ``on_end`` at the end),
   evaluation at epoch ends, the progress bar.

Data stays on the device as tensors indexed by the batch; nothing is copied per step.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import runtime
from ..validation import check_fraction, check_option, check_positive_int
from .members import members_cross_entropy
from .optim import make_optimizer, make_scheduler
from .results import History, StepState
from .routing import _frozen_stats, _member_view, _reduce, _routed_backward


def progress_default() -> bool:
    return os.environ.get("LABKIT_PROGRESS", "1") != "0" and not os.environ.get("NBGRADER_EXECUTION")


def per_example_loss(loss, label_smoothing: float) -> Callable:
    """``loss`` as a function (logits [S, B, K], targets [S, B]) -> per-example losses [S, B].

    ``"ce"`` is cross-entropy (with ``label_smoothing``). A callable ``loss(logits, targets)`` is
    called on the flattened batch [S*B, K], [S*B]; it may return per-example losses [S*B]
    (preferred: weights and several members then work) or, for one member, a scalar.
    """
    if not callable(loss):
        check_option(loss, "loss", ("ce",))
        return lambda logits, y: members_cross_entropy(logits, y, label_smoothing)

    def custom(logits, y):
        S, B = y.shape
        out = loss(logits.float().flatten(0, 1), y.flatten())
        if out.dim() == 1 and out.shape[0] == S * B:
            return out.view(S, B)
        if out.dim() == 0:
            if S != 1:
                raise ValueError("a loss callable that returns a scalar can train one model only; "
                                 "return per-example losses (reduction='none') to train several at once")
            return out.expand(1, B)  # its mean is the scalar itself
        raise ValueError(f"the loss callable returned shape {tuple(out.shape)}; return per-example "
                         f"losses [{S * B}] or a scalar")
    return custom


def _callbacks(callbacks) -> list:
    """Each callback as a dict of its hooks; a plain callable is an ``on_step`` hook."""
    out = []
    for cb in callbacks:
        hooks = {k: getattr(cb, k) for k in ("on_start", "on_step", "on_end") if callable(getattr(cb, k, None))}
        if not hooks:
            if not callable(cb):
                raise TypeError(f"a callback must be callable or have on_start/on_step/on_end, got {type(cb).__name__}")
            hooks = {"on_step": cb}
        out.append(hooks)
    return out


def _by_prefix(mapping: Mapping | None, names: Sequence[str], what: str) -> dict:
    """Expand a mapping keyed by parameter names or module prefixes ("blocks.fc1") to parameters."""
    if not mapping:
        return {}
    out = {}
    for key, value in mapping.items():
        hits = [n for n in names if n == key or n.startswith(key + ".")]
        if not hits:
            raise ValueError(f"{what} names {key!r}, which matches no parameter; parameters are "
                             f"{', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
        for n in hits:
            out[n] = value
    return out


def train_members(members, train, batches, *, optimizer: str = "adam", lr: float | None = None,
                  weight_decay: float = 0.0, momentum: float = 0.9, schedule: str = "constant",
                  warmup: int = 0, loss="ce", label_smoothing: float = 0.0, weights=None, inputs=None,
                  route=None, update_scale=None, masks=None, callbacks: Sequence = (), val=None,
                  eval_every: int = 1, amp: bool = True, progress: bool | None = None, single: bool = False,
                  desc: str = "training") -> History:
    """Train S members in place on ``train`` (a labkit Data already on their device).

    batches : a batch source (:mod:`labkit.training.batches`) yielding [S, B] indices
    weights : per-example weights [N] or [S, N]; each member's loss is the weighted mean
    inputs : name -> inputs [N, ...] aligned with ``train.y`` (default ``{"x": train.X}``)
    route : parameter name or module prefix -> [S] index into ``inputs``: which input source each
        member's parameter learns from (L1: a block learns from clean or from skewed batches);
        BatchNorm running statistics follow the same routing
    update_scale : parameter name or module prefix -> [S] (or [S, ...]) factor on each member's
        update (0 freezes; a scalar applies to every member)
    masks : parameter name -> 0/1 tensor [S, ...] (or one for all members): weights kept at zero
    single : the members are one nn.Module trained by ``fit`` (callbacks see it without the member axis)
    Returns the :class:`History`: ``loss`` [steps, S] (or [steps] when ``single``).
    """
    device = members.device
    S = len(members)
    if batches.n_members != S:
        raise ValueError(f"the batch source feeds {batches.n_members} members but there are {S}")
    check_positive_int(eval_every, "eval_every", 0)
    check_fraction(label_smoothing, "label_smoothing", 0.0, 1.0, inclusive_high=False)
    criterion = per_example_loss(loss, label_smoothing)
    inputs = dict(inputs) if inputs else {"x": train.X}
    sources = list(inputs)
    y = train.y
    if weights is not None:
        weights = torch.as_tensor(weights, dtype=torch.float32, device=device)
        weights = weights.expand(S, -1) if weights.dim() == 1 else weights
        if weights.shape != (S, len(y)) or not torch.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(f"weights must be finite, non-negative, of shape [{len(y)}] or [{S}, {len(y)}]")
    stacked = members.stacked_params()
    names = list(stacked)
    route = {n: torch.as_tensor(v, device=device).long().expand(S) for n, v in _by_prefix(route, names, "route").items()}
    if route and len(sources) < 2:
        raise ValueError("route needs at least two input sources in `inputs`")
    for n, r in route.items():
        if int(r.min()) < 0 or int(r.max()) >= len(sources):
            raise ValueError(f"route[{n!r}] must index the inputs {sources}")
    scales = {}
    for n, v in _by_prefix(update_scale, names, "update_scale").items():
        v = torch.as_tensor(v, dtype=torch.float32)
        scales[n] = _member_view(v.expand(S) if v.dim() == 0 else v, stacked[n])
    masks = {n: _member_view(m, stacked[n]).to(stacked[n].dtype) for n, m in _by_prefix(masks, names, "masks").items()}
    frozen_stats = _frozen_stats(members, route, sources)

    opt = make_optimizer(members.leaves(), optimizer, lr, weight_decay, momentum)
    sched = make_scheduler(opt, schedule, runtime.quick_steps(batches.total_steps), warmup)
    dtype = runtime.amp_dtype(device) if amp else None
    if route and dtype == torch.float16:
        dtype = None  # fp16 would need one loss scaler per source
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    hooks = _callbacks(callbacks)
    plain_ce = not members.has_member_axis and loss == "ce" and weights is None
    total, per_epoch = runtime.quick_steps(batches.total_steps), batches.steps_per_epoch
    losses = torch.empty(total, S, device=device)
    lrs = np.empty(total)
    evals = []
    bar = tqdm(total=total, desc=desc if S == 1 else f"{desc} {S} members", leave=False, mininterval=0.5,
               disable=not (progress_default() if progress is None else progress))
    start = time.perf_counter()
    with torch.no_grad():
        for n, m in masks.items():
            stacked[n].mul_(m)
    state = StepState(0, 0.0, per_epoch, total, members, single=single)
    for h in hooks:
        if "on_start" in h:
            h["on_start"](state)
    members.train()
    step = 0
    quick_batch = runtime.QUICK_BATCH if runtime.quick() else None
    for step, idx in enumerate(batches, 1):
        if step > total:  # the quick-run switch cut the run short
            step = total
            break
        if quick_batch is not None:  # and keeps the batches small: the code path, not the compute
            idx = idx[:, :quick_batch]
        w = None if weights is None else weights.gather(1, idx)
        opt.zero_grad(set_to_none=True)
        if not route:
            with runtime.autocast(device, enabled=dtype is not None):
                if plain_ce:  # one nn.Module and plain cross-entropy: no member axis in the graph at all
                    i = idx[0]
                    logits, yi = members.module(inputs[sources[0]][i]), y[i]
                    total_loss = F.cross_entropy(logits.float(), yi, label_smoothing=label_smoothing)
                    logits, yb, per_member = logits.unsqueeze(0), yi.unsqueeze(0), total_loss.view(1)
                else:
                    yb = y[idx]
                    logits = members.forward(inputs[sources[0]][idx])
                    per_member = _reduce(criterion(logits, yb), w)
                    total_loss = per_member.sum()  # the sum keeps each member's gradient its own
            if scaler.is_enabled():  # fp16 needs loss scaling; bf16 and fp32 do not
                scaler.scale(total_loss).backward()
            else:
                total_loss.backward()
        else:
            yb = y[idx]
            logits, per_member = _routed_backward(members, inputs, sources, idx, yb, w, criterion, route,
                                                  frozen_stats, device, dtype is not None)
        old = {n: stacked[n].detach().clone() for n in scales} if scales else None
        if scaler.is_enabled():
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        if scales or masks:
            with torch.no_grad():
                for n, f in scales.items():
                    stacked[n].sub_(old[n]).mul_(f).add_(old[n])
                for n, m in masks.items():
                    stacked[n].mul_(m)
        lrs[step - 1] = opt.param_groups[0]["lr"]
        if sched is not None:
            sched.step()
        losses[step - 1] = per_member.detach()
        bar.update()
        state = StepState(step, step / per_epoch, per_epoch, total, members, per_member.detach(), idx,
                          logits.detach().float(), yb, single=single)
        for h in hooks:
            if "on_step" in h:
                h["on_step"](state)
        due = eval_every and step % (per_epoch * eval_every) == 0
        if val is not None and eval_every and (due or step == total or state.stop):
            evals.append({"epoch": step / per_epoch, "step": step, **_val_metrics(members, val, single)})
            bar.set_postfix(val_acc=f"{evals[-1]['val_acc']:.3f}")
        if hooks or val is not None:
            members.train()
        if state.stop:
            break
    bar.close()
    members.eval()
    for h in hooks:
        if "on_end" in h:
            h["on_end"](state)
    loss_out = losses[:step].cpu().numpy()
    return History(loss=loss_out[:, 0] if single else loss_out, lr=lrs[:step], steps_per_epoch=per_epoch,
                   evals=evals, seconds=time.perf_counter() - start)


def _val_metrics(members, val, single: bool) -> dict:
    evs = members.evaluate(val)
    if single:
        return {"val_loss": evs[0].loss, "val_acc": evs[0].accuracy}
    accs = [e.accuracy for e in evs]
    return {"val_acc": float(np.mean(accs)), "val_acc_per_seed": accs}
