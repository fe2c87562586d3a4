"""Plots and widgets shared by all lectures. Each plot takes results (tensors, arrays, History)
and returns the matplotlib Axes or Figure it drew on; widgets are thin wrappers over pure functions
(:mod:`labkit.viz.widgets`)."""
from .history import plot_history
from .images import fig_to_png, show_images, to_hwc
from .widgets import picture_widget

__all__ = ["show_images", "to_hwc", "fig_to_png", "plot_history", "picture_widget"]
