import os

import pytest
import torch

# The suite runs at the smoke scale on the CPU unless a test says otherwise.
os.environ.setdefault("LABKIT_SCALE", "smoke")
os.environ.setdefault("LABKIT_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs CUDA (run on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
