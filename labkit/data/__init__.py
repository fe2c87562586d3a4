"""Data: the embedded offline sets (MNIST-1D included), experiment transforms, splits and the real sets."""
from .cbf import CBF_CLASSES, make_cbf
from .core import Data, Splits, train_val_test_split
from .embedded import QUADRANTS, RULE_QUADRANTS, load_digits, make_blobs, make_moons, make_stars_moons, make_waterbirds
from .mnist1d import load_mnist1d, mnist1d_shifted
from .real import default_root, load_real, read_idx, real_splits
from .sets import base_images, stars_moons_data, upscale
from .shifted import shift_digits, shifted_digits
from .transforms import SHORTCUT_KINDS, add_label_noise, apply_cue, class_colours, inject_shortcut, shortcut_ood

__all__ = ["Data", "Splits", "train_val_test_split", "load_digits", "make_moons", "make_blobs",
           "make_stars_moons", "make_waterbirds", "load_mnist1d", "mnist1d_shifted", "QUADRANTS", "RULE_QUADRANTS", "load_real",
           "read_idx", "default_root", "add_label_noise", "inject_shortcut", "shortcut_ood",
           "apply_cue", "class_colours", "SHORTCUT_KINDS", "real_splits", "base_images", "stars_moons_data",
           "upscale", "shift_digits", "shifted_digits", "make_cbf", "CBF_CLASSES"]
