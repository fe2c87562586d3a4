"""Training: one loop for every trainer, one model protocol, evaluation and per-example gradients.

    >>> import labkit as lk
    >>> train, val, test = lk.data.train_val_test_split(lk.data.load_digits())
    >>> model = lk.models.make_model("mlp", train)
    >>> history = lk.fit(model, train, val, epochs=5, progress=False)
    >>> lk.evaluate(model, test).accuracy > 0.9
    True

Modules: ``loop`` (the one training loop), ``fit`` (fit, fit_many, fit_subsets), ``batches``
(batch sources, the quick-run switch), ``parameters`` (the loop's per-parameter options),
``routing`` (gradient routing), ``members`` (Ensemble and the one-member view of an nn.Module),
``optim`` (the optimizer factory and schedules), ``evaluation``, ``gradients``, ``results``,
``checkpoints``.
"""
from .batches import EpochBatches, PlanBatches, SubsetBatches, batch_plan, steps_plan
from .checkpoints import load_checkpoint, save_checkpoint
from .evaluation import as_data, evaluate, evaluation_from_logits, predict_logits, predict_proba
from .fit import SubsetRuns, build_members, check_seeds, fit, fit_many, fit_subsets, prepare_data, resolve_device
from .gradients import _grad_sq_norms, input_gradients, per_example_grad_norms, stacked_state  # noqa: F401
from .loop import train_members
from .members import Ensemble, ModuleMembers, as_members, eval_mode, has_batchnorm, to_device_input
from .optim import DEFAULT_LR, OPTIMIZERS, SCHEDULES, _lr_lambda, base_lr, make_optimizer, make_scheduler  # noqa: F401
from .results import Evaluation, History, StepState

__all__ = ["train_members", "fit", "fit_many", "fit_subsets", "SubsetRuns", "EpochBatches", "SubsetBatches",
           "PlanBatches", "batch_plan", "steps_plan", "Ensemble", "ModuleMembers", "as_members", "eval_mode",
           "has_batchnorm", "to_device_input", "build_members", "check_seeds", "prepare_data", "resolve_device",
           "make_optimizer", "make_scheduler", "base_lr", "DEFAULT_LR", "OPTIMIZERS", "SCHEDULES",
           "evaluate", "evaluation_from_logits", "predict_logits", "predict_proba", "as_data",
           "per_example_grad_norms", "input_gradients", "stacked_state", "save_checkpoint", "load_checkpoint",
           "Evaluation", "History", "StepState"]

