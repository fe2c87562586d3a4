"""Lecture L3 runs top to bottom at the class scale on two base seeds at once (its own and one its
thresholds were not chosen on), and every claim it shows holds on both.

Each claim would fail if the phenomenon vanished: if D's correctness were shuffled across the test
set (no preference for M's examples), R± would stay near 1 and the shape claims would fail.
"""
from pathlib import Path

import nbformat
import pytest

from notebook_runner import BASE_SEEDS, assert_class_runs_ok, claim, claims_of_run, run_lecture_on_seeds

# the class-scale run is timed against its budget: `make test` runs this module alone
pytestmark = pytest.mark.timed
LECTURE = Path(__file__).resolve().parents[2] / "lectures" / "L3_contingency.ipynb"
# 3 the Ms, 2 the tracker, 5 the shape, 3 CNN against MLP, 1 each seed, 1 class bias, 2 balanced,
# 3 R+ ahead, 2 T01, 3 easiness, 1 never learned
CLAIMS = 26


@pytest.fixture(scope="module")
def lecture():
    return run_lecture_on_seeds(LECTURE)


def test_the_lecture_reads_its_claims_not_a_results_dict():
    text = "\n".join(c.source for c in nbformat.read(LECTURE, as_version=4).cells)
    assert "results[" not in text
    assert "benchmarks/" not in text  # the tracker's overhead is measured outside the lecture


@pytest.mark.slow
def test_runs_at_class_scale_within_budget(lecture):
    assert_class_runs_ok(lecture)
    for nb, _, _ in lecture.values():
        streams = [o for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert not streams, streams[0]["text"][:300]


@pytest.mark.slow
@pytest.mark.parametrize("base", BASE_SEEDS)
def test_every_claim_holds(lecture, base):
    claims = claims_of_run(lecture, base, CLAIMS)
    shape = claim(claims, "Every triple overshoots")
    assert shape["seeds"] == list(range(base, base + 4))  # every D trained from 4 seeds
