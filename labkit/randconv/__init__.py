"""Random convolutional features (lecture L7, with :mod:`labkit.sparsity`).

Frozen random kernels, ROCKET/MiniRocket-style dilations and data-driven biases, pooled by PPV
(proportion of positive values), max and mean, then a linear classifier::

    >>> from labkit import randconv as rc
    >>> train, _, test = lk.data.load_mnist1d()
    >>> clf = rc.rocket_pipeline(n_kernels=2000, random_state=0).fit(train.flat(), train.y.numpy())
    >>> clf.score(test.flat(), test.y.numpy())

Shapes: signals [N, L] or [N, C, L] (1-D kernels), images [N, C, H, W] (2-D kernels); features
[N, n_kernels × len(pooling)].
"""
from .features import POOLINGS, RandomConvFeatures, ppv
from .pipeline import KernelSweep, PoolingAblation, accuracy_by_kernels, as_arrays, pooling_ablation, rocket_pipeline

__all__ = ["POOLINGS", "RandomConvFeatures", "ppv", "KernelSweep", "PoolingAblation", "rocket_pipeline",
           "accuracy_by_kernels", "as_arrays", "pooling_ablation"]
