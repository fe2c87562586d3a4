"""Example difficulty and data-centric tools (lecture L2).

A trained network is a measuring instrument for its data. This module turns training runs into
per-example scores, finds suspected label errors, and prunes datasets by score::

    from labkit import difficulty as dif
    build = lambda: lk.models.MLP(train.input_shape, 10, hidden=(128,) * 4)
    scores = dif.compute_scores(build, train, seeds=range(5), epochs=20)
    scores.table()                 # one row per example: every score's seed mean and spread
    scores.correlations()          # rank correlations between scores
    dif.seed_agreement(scores.per_seed["el2n"]).table()   # one row per number of runs averaged

The scores (each oriented as the literature defines it; :data:`HARDER` says which way is hard):

``loss``        mean cross-entropy of the example over all its presentations during training
``margin``      mean over presentations of p(given label) minus the largest other probability;
                when the model predicts the given label this is the gap between the two highest
                probabilities, otherwise it is negative (small = hard)
``el2n``        ‖softmax(f(x)) − onehot(y)‖₂ early in training (Paul et al. 2021)
``grand``       ‖∇_θ loss(x, y)‖₂ early in training, per example with torch.func (Paul et al. 2021)
``forgetting``  number of times the example went from correctly to wrongly classified between two
                consecutive presentations; an example never classified correctly gets the number of
                its presentations, more than any learned example can reach (Toneva et al. 2019)
``vog``         standard deviation over checkpoints of the gradient of the given label's logit
                with respect to each input pixel, averaged over pixels, then standardised within
                each class
                (Agarwal et al. 2022)
``depth``       prediction depth: the first layer from which k-NN probes (k = 30) on every later
                block's output agree with the network's final prediction (Baldock et al. 2021)

Several seeds train at once with :func:`labkit.fit_many` (``torch.func.vmap`` over stacked
parameters; members with BatchNorm one after another in the same loop). Loss, margin and forgetting
come for free from the logits each training step
already computed; EL2N, GraNd and VoG are evaluated on the whole training set at a few checkpoints
inside the same runs, with ``torch.func`` vectorised over examples *and* seeds.

Files follow the lecture's sections: ``scores`` (the definitions), ``tracking`` (scores from
training runs), ``agreement`` (between scores, seeds and architectures), ``label_errors``,
``diet``, ``depth``, ``plots`` and ``widget``.
"""
from .agreement import (
                        ArchitectureProbe,
                        SeedAgreement,
                        architecture_disagreement,
                        architecture_probe,
                        auroc,
                        rank_percentiles,
                        score_correlations,
                        seed_agreement,
)
from .depth import depth_from_probes, prediction_depth
from .diet import DIET_STRATEGIES, DataDiet, data_diet, keep_indices
from .label_errors import find_label_errors, precision_recall
from .plots import plot_correlations, plot_data_diet, plot_depth, plot_seed_agreement, show_examples
from .scores import (
                        HARDER,
                        SCORES,
                        cross_entropy,
                        el2n,
                        forgetting_counts,
                        grad_norms,
                        margin,
                        vog_from_gradients,
                        vog_from_pixel_std,
)
from .tracking import DifficultyScores, ScoreTracker, compute_scores
from .widget import SLICES, ExamplesView, examples_view, examples_widget, render_examples, select_examples

__all__ = ["SCORES", "HARDER", "DIET_STRATEGIES", "SLICES", "el2n", "margin", "cross_entropy",
           "forgetting_counts", "vog_from_gradients", "vog_from_pixel_std", "grad_norms",
           "depth_from_probes", "prediction_depth", "ScoreTracker", "DifficultyScores", "compute_scores",
           "score_correlations", "SeedAgreement", "seed_agreement", "auroc", "find_label_errors",
           "precision_recall", "keep_indices", "DataDiet", "data_diet", "rank_percentiles",
           "architecture_disagreement", "ArchitectureProbe", "architecture_probe", "plot_correlations",
           "plot_seed_agreement", "plot_data_diet", "plot_depth",
           "show_examples", "select_examples", "ExamplesView", "examples_view", "render_examples",
           "examples_widget"]
