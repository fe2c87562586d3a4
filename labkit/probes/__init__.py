"""Probes: tools that read what a trained model (or a classical one) knows about the data.

``features`` (every block's output), ``knn`` (k-NN probes), ``crossfit`` (out-of-sample
probabilities), ``classical`` (scikit-learn models fitted once, cached). Used by L2, L3 and the
lectures after them; they import only the shared layers.
"""
from .classical import CLASSICAL_KINDS, Classical, fit_classical, forest_early_stopping
from .crossfit import out_of_sample_proba
from .features import block_features
from .knn import knn_predict

__all__ = ["block_features", "knn_predict", "out_of_sample_proba", "Classical", "fit_classical",
           "forest_early_stopping", "CLASSICAL_KINDS"]
