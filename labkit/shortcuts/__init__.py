"""Shortcut learning (lecture L1): stars and moons, injected cues, and where a shortcut lives.

Three experiments, each a plain function that returns a result (``labkit.results``) whose fields
the lecture reads and whose ``table()`` gives its numbers as one DataFrame:

    >>> from labkit import shortcuts
    >>> r = shortcuts.stars_moons_experiment("fc", size=32, n_train=600, epochs=3)
    >>> r.train_acc, r.iid_acc, r.ood_acc        # location rule learned, shape ignored
    >>> sweep = shortcuts.shortcut_sweep(train, test, ps=[0, 0.5, 1])   # o.o.d. accuracy vs cue strength
    >>> sweep.table().groupby("p").mean()        # one row per p and seed, averaged over seeds
    >>> pair = shortcuts.paired_shortcut_data(train, "patch", p=1.0)
    >>> loc = shortcuts.localize_shortcut(build, pair.clean, pair.skewed, test, epochs=10)
    >>> loc.table()                               # per-block spurious encoding and core forgetting

The localization follows the counterfactual design of Tsoy & Konstantinov (arXiv 2510.26560):
one initialisation and one batch order are shared by every run; in each run every named block of a
:class:`~labkit.models.BlockNet` is updated either from the clean batch or from the same batch with
the shortcut injected (the *skewed* batch). Comparing clean-test accuracies of these runs says
which blocks pick up the spurious cue and which ones lose the core feature.

The widget at the end (:func:`shortcut_widget`) is a thin ipywidgets wrapper around the pure
function :func:`shortcut_view`. Files follow the lecture's sections: ``stars_moons``, ``injected``,
``localization``, ``mitigation``, ``widget``, ``plots``; the data builders live in
:mod:`labkit.data`.
"""
from .injected import ShortcutPair, ShortcutSweep, paired_shortcut_data, shortcut_sweep
from .localization import (
                           SOURCES,
                           Localization,
                           attribution_table,
                           counterfactual_runs,
                           localize_shortcut,
                           train_blockwise,
)
from .mitigation import MitigationTrial, mitigation_trial
from .plots import plot_localization, plot_rule_taxonomy, plot_stars_moons, plot_sweep
from .stars_moons import ARCHITECTURES, StarsMoonsResult, stars_moons_experiment, stars_moons_model
from .widget import ShortcutView, demo_config, render_shortcut, shortcut_view, shortcut_widget

__all__ = ["SOURCES", "ARCHITECTURES", "stars_moons_model", "StarsMoonsResult", "stars_moons_experiment",
           "ShortcutSweep", "shortcut_sweep", "ShortcutPair", "paired_shortcut_data", "train_blockwise",
           "attribution_table", "Localization", "counterfactual_runs", "localize_shortcut", "MitigationTrial",
           "mitigation_trial", "demo_config", "ShortcutView",
           "shortcut_view", "render_shortcut", "shortcut_widget", "plot_rule_taxonomy", "plot_stars_moons",
           "plot_sweep", "plot_localization"]
