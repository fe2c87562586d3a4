"""Lecture L2 runs top to bottom at the class scale on two base seeds at once (its own and one its
thresholds were not chosen on), and every claim it shows holds on both. Each claim compares
conditions, orders or bounds with the margin its sentence states, so it fails if the phenomenon
it names disappears."""
from pathlib import Path

import nbformat
import pytest

from notebook_runner import BASE_SEEDS, assert_class_runs_ok, claim, claims_of_run, run_lecture_on_seeds

# the class-scale run is timed against its budget: `make test` runs this module alone
pytestmark = pytest.mark.timed
NOTEBOOK = Path(__file__).resolve().parents[2] / "lectures" / "L2_difficulty.ipynb"
CLAIMS = 22  # 4 label errors, 3 AUROC, 4 correlations, 2 seed agreement, 2 diet, 2 architectures, 5 depth


@pytest.fixture(scope="module")
def lecture():
    return run_lecture_on_seeds(NOTEBOOK)


def test_defines_every_score_and_cites_its_sources():
    sources = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells]
    assert any("dif.examples_widget(" in s for s in sources)
    assert any("find_label_issues(" in s and 'filter_by="confident_learning"' in s for s in sources)
    for arxiv in ("1911.00068", "2103.14749", "2107.07075", "1812.05159", "2008.11600", "2106.09647", "2401.01867",
                  "2011.14439"):
        assert arxiv in sources[-1], arxiv
    text = "\n".join(sources)
    for name in ("EL2N", "GraNd", "forgetting", "VoG", "prediction depth", "margin", "standard deviation"):
        assert name in text
    assert "results[" not in text  # the claims are what the test reads


@pytest.mark.slow
def test_runs_at_class_scale_within_budget(lecture):
    assert_class_runs_ok(lecture)
    for nb, _, _ in lecture.values():
        cell = next(c for c in nb.cells if "dif.examples_widget(" in c.source)
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)


@pytest.mark.slow
@pytest.mark.parametrize("base", BASE_SEEDS)
def test_every_claim_holds(lecture, base):
    claims = claims_of_run(lecture, base, CLAIMS)
    diet = claim(claims, "With 10 % flipped labels")
    assert diet["seeds"] == [base, base + 1, base + 2]  # a comparison of pruning rules rests on 3 seeds
    cleanlab = claim(claims, "cleanlab's confident_learning")
    assert cleanlab["measured"]["overlap (Jaccard)"] >= 0.95
