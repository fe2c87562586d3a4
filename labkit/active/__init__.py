"""Pool-based active learning (lecture L4, section 1).

Start from a few labels, train, let a strategy pick the next ``b`` pool examples to label, retrain,
repeat. Strategies (:mod:`~labkit.active.strategies`, "higher score = query first"):

* ``random``;
* uncertainty: :func:`least_confidence`, :func:`margin`, :func:`entropy`;
* ``density``: :func:`information_density` (entropy × mean similarity to the pool);
* ``coreset``: :func:`kcenter_greedy` on the penultimate layer (Sener & Savarese, arXiv 1708.00489);
* ``egl``: :func:`expected_gradient_length` at the last layer, in closed form.

:func:`run_active` runs every strategy × seed at once: in each round all their models are retrained
from scratch on their own pools through ``lk.fit_subsets(..., paired=True)``. Curves are read with
:func:`area_under_curve` and :func:`labels_to_reach`; :func:`moons_rounds` and :func:`active_widget`
step through the rounds on two moons::

    >>> from labkit import active
    >>> run = active.run_active(build, pool, test, strategies=["random", "margin"], seeds=range(5))
    >>> active.area_under_curve(run.labels, run.accuracy).mean(1)
"""
from .curves import area_under_curve, batch_classes, batch_spread, labels_to_reach
from .plots import plot_learning_curves
from .rounds import ActiveRun, embed, initial_pool, run_active
from .strategies import (
    STRATEGIES,
    check_probs,
    entropy,
    expected_gradient_length,
    information_density,
    kcenter_greedy,
    least_confidence,
    margin,
    select,
    strategy_scores,
    top_b,
)
from .widget import ActiveView, MoonsRounds, active_view, active_widget, moons_rounds, render_active

__all__ = ["STRATEGIES", "ActiveRun", "MoonsRounds", "ActiveView", "active_widget", "area_under_curve",
           "batch_classes", "batch_spread", "check_probs", "embed", "entropy", "expected_gradient_length",
           "information_density", "initial_pool", "kcenter_greedy", "labels_to_reach", "least_confidence",
           "margin", "moons_rounds", "active_view", "plot_learning_curves", "render_active", "run_active",
           "select", "strategy_scores", "top_b"]
