"""The stars-and-moons widget: a pure function (:func:`shortcut_view`), its figure
(:func:`render_shortcut`) and a thin ipywidgets wrapper (:func:`shortcut_widget`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .. import runtime
from ..data.embedded import make_stars_moons
from ..data.sets import stars_moons_data
from ..validation import check_fraction, check_option, check_positive_int
from ..viz import fig_to_png, picture_widget
from .stars_moons import ARCHITECTURES, stars_moons_experiment


def demo_config(scale: str | None = None) -> dict[str, int | tuple[int, ...]]:
    """Sizes for the widget at the active scale (each change of the controls trains at most once):
    ``size``, ``n_train``, ``n_test``, ``epochs``, ``width``, ``depth`` (ints) and ``hidden`` (the
    fully connected net's layer widths)."""
    return runtime.scaled(
        dict(size=32, n_train=300, n_test=200, epochs=4, hidden=(128, 128), width=8, depth=3),
        dict(size=32, n_train=1000, n_test=500, epochs=5, hidden=(512, 512), width=12, depth=3),
        dict(size=64, n_train=4000, n_test=1000, epochs=5, hidden=(1024, 1024), width=32, depth=3),
        scale=scale)


@dataclass
class ShortcutView:
    """What the widget shows: accuracies of the net trained at this rule, and one new test image."""

    rule: float
    arch: str
    iid_acc: float
    ood_acc: float
    draw: int
    image: torch.Tensor = field(repr=False)
    label: str = ""
    prediction: str = ""
    confidence: float = float("nan")
    examples: torch.Tensor = field(default=None, repr=False)
    example_titles: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"rule {self.rule:.2f} | {ARCHITECTURES[self.arch]} | i.i.d. accuracy {self.iid_acc:.2f} | "
                f"o.o.d. accuracy {self.ood_acc:.2f} | test image #{self.draw}: a {self.label} at a random "
                f"place, predicted {self.prediction} ({self.confidence:.2f})")


_DEMO_MODELS: dict = {}  # (rule, architecture, config, seed) -> (result, data): train once


def _demo_model(rule: float, arch: str, config: dict, seed: int):
    key = (round(rule, 4), arch, tuple(sorted((k, str(v)) for k, v in config.items())), seed)
    if key not in _DEMO_MODELS:
        data = stars_moons_data(config["n_train"], config["n_test"], config["size"], rule, seed)
        result = stars_moons_experiment(arch, rule, epochs=config["epochs"], hidden=config["hidden"],
                                        width=config["width"], depth=config["depth"], seed=seed, data=data)
        _DEMO_MODELS[key] = (result, data)
    return _DEMO_MODELS[key]


def shortcut_view(rule: float = 1.0, arch: str = "fc", draw: int = 0, config: dict | None = None,
              seed: int = 0, n_examples: int = 6) -> ShortcutView:
    """The widget's logic, without any widget: train (once per rule and architecture, then cached)
    on stars and moons whose location obeys the rule for a fraction ``rule`` of the training
    images, and classify o.o.d. test image number ``draw`` (a shape at a random place)."""
    check_fraction(rule, "rule", 0.5, 1.0)
    check_option(arch, "architecture", tuple(ARCHITECTURES))
    draw = check_positive_int(draw, "draw", 0)
    config = {**demo_config(), **(config or {})}
    result, (train, _, _) = _demo_model(float(rule), arch, config, seed)
    image = make_stars_moons(2, config["size"], ood=True, seed=100_000 + draw)
    with torch.inference_mode():
        probs = result.model.eval()(image.X.to(next(result.model.parameters()).device)).softmax(1).cpu()[0]
    k = int(probs.argmax())
    ex = train.subset(torch.arange(min(n_examples, len(train))))
    titles = [f"{train.classes[int(c)]}{'' if ok else ' (breaks rule)'}"
              for c, ok in zip(ex.y, ex.meta["obeys_rule"])]
    return ShortcutView(float(rule), arch, result.iid_acc, result.ood_acc, draw, image.X[0].cpu(),
                    image.classes[int(image.y[0])], image.classes[k], float(probs[k]), ex.X.cpu(), titles)


def render_shortcut(view: ShortcutView):
    """The figure of a view: a few training images, then the new test image with its prediction."""
    from matplotlib.figure import Figure

    n = len(view.example_titles)
    fig = Figure(figsize=(1.5 * (n + 2), 2.0))
    axes = fig.subplots(1, n + 2)
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(view.examples[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"train: {view.example_titles[i]}", fontsize=7)
    ax = axes[-1]
    ax.imshow(view.image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    colour = "green" if view.prediction == view.label else "red"
    ax.set_title(f"new test image: {view.label}\npredicted {view.prediction} ({view.confidence:.2f})",
                 fontsize=8, color=colour)
    return fig


def shortcut_widget(config: dict | None = None, seed: int = 0):
    """Interactive stars and moons: choose how many training images obey the location rule and the
    architecture, draw new test images. A thin wrapper around :func:`shortcut_view`."""
    import ipywidgets as w

    controls = {"rule": w.FloatSlider(value=1.0, min=0.5, max=1.0, step=0.05, description="rule share",
                                      continuous_update=False, readout_format=".2f"),
                "arch": w.Dropdown(options=[(label, key) for key, label in ARCHITECTURES.items()], value="fc",
                                   description="network")}
    buttons = {"draw": w.Button(description="new test image", icon="refresh")}

    def render(rule, arch, clicks):
        view = shortcut_view(rule, arch, clicks["draw"], config, seed)
        return fig_to_png(render_shortcut(view), close=False), f"<b>{view.summary()}</b>", view

    return picture_widget(controls, render, buttons=buttons, css_class="labkit-shortcut-demo",
                          summary_class="labkit-shortcut-summary")
