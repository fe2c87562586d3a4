"""labkit: the small library behind the course. ``import labkit as lk``.

    lk.setup(seed=0)                    # device, scale, seed: print first in every notebook
    data = lk.data.load_digits()        # embedded offline sets, transforms, splits, real sets
    model = lk.models.make_model("mlp", data)
    history = lk.fit(model, data, epochs=5)
    lk.evaluate(model, data).accuracy
"""
from . import data, models, plots, runtime, training
from .runtime import get_device, get_scale, scaled, seed_everything, setup
from .training import (Ensemble, Evaluation, History, StepState, evaluate, fit, fit_many,
                       load_checkpoint, per_example_grad_norms, predict_logits, predict_proba,
                       save_checkpoint)

__version__ = "0.1.0"

# One module per phenomenon, loaded on first use (lk.shortcuts, lk.difficulty, ...), so that
# `import labkit` stays quick and a lecture pays only for what it uses.
_LAZY = ("checks", "contingency", "difficulty", "shortcuts")


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))

__all__ = ["data", "models", "plots", "runtime", "training", "setup", "get_device", "get_scale", "scaled",
           "seed_everything", "fit", "fit_many", "evaluate", "predict_logits", "predict_proba",
           "per_example_grad_norms", "save_checkpoint", "load_checkpoint", "Ensemble", "Evaluation",
           "History", "StepState"]
