"""Do deep networks learn shallow-learnable examples first? (lecture L3)

A classical model M (an RBF SVM, a random forest, any scikit-learn classifier) is fitted once; a
deep net D is trained from scratch, and after training steps the 2x2 *contingency table* T of the
two models' correctness on the test set is recorded:

    ==============  ============  ==========
    T[d, m]         M incorrect   M correct
    ==============  ============  ==========
    D incorrect     T00           T01
    D correct       T10           T11
    ==============  ============  ==========

so ``T[1, 0]`` (= T10) counts the test examples that D gets right and M gets wrong. From T:

* acc(M) = (T01 + T11) / N and acc(D) = (T10 + T11) / N,
* R+ = T11 / (T01 + T11): D's accuracy on the examples M gets right (*shallow-learnable*),
* R- = T10 / (T00 + T10): D's accuracy on the examples M gets wrong,
* R+- = R+ / R-: how much more of the shallow-learnable part D has learned.

Edge cases: R+ (R-) is NaN when M gets no (every) test example right, because D's accuracy on an
empty set is undefined; R+- is NaN when R+ or R- is NaN or both are 0, and +inf when R- = 0 < R+.

The design follows Mangalam & Prabhu (ICML 2019 workshop "Identifying and understanding deep
learning phenomena"). Typical use::

    >>> from labkit import contingency as ct
    >>> train, val, test = lk.data.shifted_digits()
    >>> svm = lk.probes.fit_classical("svm", train, test)
    >>> tracker = ct.ContingencyTracker(test, {"SVM": svm}, past_peak=2)  # every step until 2x the peak's step
    >>> run = ct.track(lambda: lk.models.make_model("mlp", train), train, tracker,
    ...                seeds=[0, 1, 2, 3], epochs=10)    # run.model, run.history: what was trained
    >>> curves = run.curves("SVM"); ct.plot_ratio(curves)
    >>> run.counts("SVM", seed=0)      # T of the first seed at the last recorded step
    >>> run.table()                    # every table: one row per (M, seed, recorded step)

Tracking is cheap by design: M's predictions are computed once; the tracker keeps the test set on
D's device and only stores whether D is right on each test example (one boolean per example and
recorded step), evaluating in large batches without gradients. It records every step while the
early peak forms (``dense_steps``, or, with ``past_peak``, until the step is that many times the step
of R+-'s highest point so far) and log-spaced steps after that, so evaluating the test set costs a
fraction of the training. T for any M is derived from the stored correctness afterwards.
"""
from .plots import plot_rates, plot_ratio, plot_schedule
from .run import ContingencyRun, Curves, Easiness, alternative_shapes, easiness_table
from .table import CELL_NAMES, CELLS, Rates, constant_guess_ratios, contingency_table, rates, table_from_predictions
from .tracker import ContingencyTracker, track, tracking_schedule
from .widget import ContingencyView, contingency_view, contingency_widget, render_contingency, show_cells

__all__ = ["CELLS", "CELL_NAMES", "ContingencyRun", "ContingencyTracker", "Curves", "ContingencyView", "Easiness", "Rates",
           "alternative_shapes", "contingency_view", "constant_guess_ratios", "contingency_table",
           "contingency_widget", "easiness_table", "plot_rates", "plot_ratio", "plot_schedule", "rates",
           "render_contingency", "show_cells", "table_from_predictions", "track", "tracking_schedule"]
