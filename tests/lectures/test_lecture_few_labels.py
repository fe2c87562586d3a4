"""Lecture L4 (active, semi-supervised and positive-unlabelled learning) runs top to bottom at the
class scale on two base seeds at once (its own and one its thresholds were not chosen on), and every
claim it shows holds on both. Each claim compares strategies or estimates with the margin its
sentence states, so it fails if the phenomenon disappears."""
from pathlib import Path

import nbformat
import pytest

from notebook_runner import BASE_SEEDS, assert_class_runs_ok, claim, claims_of_run, run_lecture_on_seeds

# the class-scale run is timed against its budget: `make test` runs this module alone
pytestmark = pytest.mark.timed
LECTURE = Path(__file__).resolve().parents[2] / "lectures" / "L4_few_labels.ipynb"
# 4 active learning on digits (one on labels saved), 2 cold start, 2 MNIST-1D, 2 batches, 4 semi-supervised, 3 pseudo-labels,
# 3 estimates of c, 2 naive/corrected, 3 what breaks the correction, 1 widget
CLAIMS = 26


@pytest.fixture(scope="module")
def lecture():
    return run_lecture_on_seeds(LECTURE)


def test_the_threshold_is_chosen_without_the_test_set():
    text = "\n".join(c.source for c in nbformat.read(LECTURE, as_version=4).cells)
    assert "pseudo_label(build, pool, test, val=val" in text and "pl.chosen()" in text
    assert "results[" not in text  # the claims are what the test reads


@pytest.mark.slow
def test_runs_at_class_scale_within_budget(lecture):
    assert_class_runs_ok(lecture)


@pytest.mark.slow
@pytest.mark.parametrize("base", BASE_SEEDS)
def test_every_claim_holds(lecture, base):
    claims = claims_of_run(lecture, base, CLAIMS, same=lambda text: "τ =" not in text)  # τ: chosen on each run
    margin = claim(claims, "Margin sampling has the larger area")
    assert margin["seeds"] == list(range(base, base + 5))  # a comparison of strategies rests on 5 seeds
