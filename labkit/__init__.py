"""labkit: the small library behind the course. ``import labkit as lk``.

    lk.setup(seed=0)                    # device, scale, seed: print first in every notebook
    data = lk.data.load_digits()        # embedded offline sets, transforms, splits, real sets
    model = lk.models.make_model("mlp", data)
    history = lk.fit(model, data, epochs=5)
    lk.evaluate(model, data).accuracy

Shared layers: ``runtime``, ``validation``, ``data``, ``models``, ``training`` (one loop),
``probes``, ``viz`` (also reachable as ``lk.plots``), ``claims`` (``lk.claim``: a lecture's sentence
checked where it is read), ``results`` (``lk.results.Result``: what every experiment returns, with
``.table()``), ``checks`` (exercise checks). One package per
lecture: ``shortcuts`` (L1), ``difficulty`` (L2), ``contingency`` (L3), ``active``, ``semisup`` and
``pu`` (L4), ``calibration`` (L5), ``capacity`` (L6), ``sparsity`` (L7). Lecture packages import the
shared layers; no shared layer imports a lecture package.
"""
from . import data, models, runtime, training
from .claims import claim
from .runtime import get_device, get_scale, scaled, seed_everything, seeds, setup
from .training import (
    Ensemble,
    Evaluation,
    History,
    StepState,
    evaluate,
    fit,
    fit_many,
    fit_subsets,
    load_checkpoint,
    per_example_grad_norms,
    predict_logits,
    predict_proba,
    save_checkpoint,
)

__version__ = "0.2.0"

# Loaded on first use (lk.shortcuts, lk.viz, ...), so that `import labkit` stays quick and a
# lecture pays only for what it uses.
# A lecture may have several packages (L4: active, semisup, pu); its notebook, assignment and
# lecture test are then named after the lecture's topic (lectures/L4_few_labels.ipynb).
LECTURES = {"shortcuts": "L1", "difficulty": "L2", "contingency": "L3", "active": "L4", "semisup": "L4", "pu": "L4",
            "calibration": "L5", "capacity": "L6", "sparsity": "L7", "randconv": "L7"}
_LAZY = ("checks", "probes", "results", "viz", *LECTURES)
_ALIASES = {"plots": "viz"}


def __getattr__(name):
    if name in _LAZY or name in _ALIASES:
        import importlib
        module = importlib.import_module(f".{_ALIASES.get(name, name)}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY) + list(_ALIASES))


__all__ = ["data", "models", "runtime", "training", "setup", "get_device", "get_scale", "scaled",
           "seed_everything", "seeds", "claim", "fit", "fit_many", "fit_subsets", "evaluate", "predict_logits", "predict_proba",
           "per_example_grad_norms", "save_checkpoint", "load_checkpoint", "Ensemble", "Evaluation",
           "History", "StepState", "LECTURES"]
