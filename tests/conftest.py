import os
import sys
from pathlib import Path

import pytest
import torch

# tests/ (notebook_runner), tests/course/ (the grader's test fixtures) and course/ (the grader)
HERE = Path(__file__).resolve().parent
for path in (HERE, HERE / "course", HERE.parent / "course"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# The suite runs at the smoke scale on the CPU unless a test says otherwise.
os.environ.setdefault("LABKIT_SCALE", "smoke")
os.environ.setdefault("LABKIT_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs CUDA (run on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
