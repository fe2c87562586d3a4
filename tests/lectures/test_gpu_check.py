"""tools/gpu_check.py, the prepared script that times the lectures on a GPU, runs through on a CPU:
one lecture at the ``full`` scale under the quick switch, its JSON and its table written, and a part
it does not know refused. (Its times on a CPU say nothing about a GPU; that it runs is the point.)"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gpu_check.py"


@pytest.mark.slow
def test_the_gpu_check_runs_a_lecture_and_writes_its_table(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--parts", "full", "--lectures", "L6"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    assert list(result["full"]) == ["L6"] and "error" not in result["full"]["L6"], result["full"]
    assert result["full"]["L6"]["seconds"] > 0 and result["class"] == {} and result["skipped"] == []
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| L6 | — | — | " in table and result["device"] in table


def test_an_unknown_part_is_refused_with_the_known_ones(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--parts", "classes"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "unknown part(s) ['classes']" in run.stderr and "tests, class, full, bench" in run.stderr
    assert not (tmp_path / "gpu_check.json").exists()
