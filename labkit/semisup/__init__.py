"""Semi-supervised learning (lecture L4, section 2): a few labels and many unlabelled examples.

* :func:`hide_labels` keeps a few labels per class (the rest become -1, scikit-learn's
  "unlabelled"); :func:`make_bars` is a set on which the low-density assumption is false, and
  :func:`make_moons_arrays` two moons, both drawn as :class:`Points` (``X``, ``y``);
* scikit-learn's estimators, not rewritten: :func:`label_spreading` (``LabelSpreading``, RBF graph)
  and :func:`self_training` (``SelfTrainingClassifier(estimator=...)``); :func:`compare_on` measures
  them against a supervised model on the same labels over seeds (a :class:`ModelComparison`);
  :func:`plot_boundary`;
* :func:`pseudo_label` — self-training a deep network with a confidence threshold, every
  threshold trained at once through ``lk.fit_subsets`` (a :class:`PseudoLabelRun`).
"""
from .assumptions import UNLABELLED, Points, hide_labels, make_bars, make_moons_arrays
from .classical import ModelComparison, compare_on, fit_partial, label_spreading, self_training
from .plots import plot_boundary
from .pseudo import PseudoLabelRun, pseudo_label

__all__ = ["UNLABELLED", "Points", "hide_labels", "make_bars", "make_moons_arrays", "ModelComparison", "compare_on",
           "fit_partial", "label_spreading", "self_training", "plot_boundary", "PseudoLabelRun", "pseudo_label"]
