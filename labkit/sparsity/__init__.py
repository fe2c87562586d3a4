"""Sparsity: pruning, what it saves, convolutions as sparse dense layers, ReLU sparsity (lecture L7).

* :mod:`.pruning` — masks from ``torch.nn.utils.prune`` (global unstructured L1, structured
  ``ln_structured`` channels), computed on a copy and returned as {parameter name: 0/1 tensor}
  for ``lk.fit(..., masks=masks)``, which keeps pruned weights at zero;
* :mod:`.experiments` — accuracy against sparsity, one-shot vs iterative, channel pruning, the
  lottery ticket (arXiv 1803.03635) against random re-initialisation of its mask;
* :mod:`.storage` — dense vs CSR bytes and matrix-product times;
* :mod:`.conv_dense` — :func:`conv_as_dense`: W [out_numel, in_numel] with
  ``W @ x.flatten() + b == conv(x).flatten()``;
* :mod:`.relu` — inactive and dead units per layer and per example, dying ReLU;
* :mod:`.widget` — the sparsity slider.

Random convolutional features (the lecture's last section) are in :mod:`labkit.randconv`.
"""
from .conv_dense import conv_as_dense, dense_summary
from .experiments import (
                          ChannelCurve,
                          LotteryTicket,
                          PrunedModel,
                          PruningCurve,
                          channel_curve,
                          check_sparsities,
                          iterative_curve,
                          lottery_ticket,
                          max_sparsity_within,
                          mean_curve,
                          one_shot_curve,
                          prune_and_finetune,
)
from .plots import plot_conv_dense, plot_dead_units, plot_sparsity_curves, plot_times
from .pruning import (
                          PRUNABLE,
                          apply_masks,
                          channel_masks,
                          effective_sparsity,
                          global_magnitude_masks,
                          masked_weights,
                          prunable_layers,
                          sparsity,
                          threshold_masks,
)
from .relu import ACTIVATION_TYPES, DyingReluRun, ReluStats, dying_relu_run, relu_activity, set_biases
from .storage import MatmulTimes, matmul_times, median_seconds, random_sparse, storage_bytes
from .widget import PruningView, pruning_view, pruning_widget, render_pruning

__all__ = ["conv_as_dense", "dense_summary", "PrunedModel", "PruningCurve", "ChannelCurve", "LotteryTicket",
           "channel_curve", "check_sparsities", "iterative_curve", "lottery_ticket", "max_sparsity_within",
           "mean_curve", "one_shot_curve", "prune_and_finetune", "plot_conv_dense", "plot_dead_units",
           "plot_sparsity_curves", "plot_times", "PRUNABLE", "apply_masks", "channel_masks", "global_magnitude_masks",
           "effective_sparsity", "masked_weights", "prunable_layers", "sparsity", "threshold_masks", "ACTIVATION_TYPES",
           "ReluStats", "DyingReluRun", "dying_relu_run", "relu_activity", "set_biases", "MatmulTimes", "matmul_times",
           "median_seconds", "random_sparse", "storage_bytes", "PruningView", "pruning_view", "render_pruning",
           "pruning_widget"]
