"""lk.claim: a lecture's sentence checked where it is read, and LABKIT_SEED, the base seed."""
import json
import os
import subprocess
import sys
from unittest import mock

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

import labkit as lk
from labkit import claims


def test_a_claim_in_a_notebook_shows_its_line_and_its_record():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy as np, labkit as lk\n"
        "lk.claim('The CNN recognises shapes anywhere', np.float64(0.93) >= 0.9,\n"
        "         measured={'o.o.d. accuracy': np.float64(0.93)}, expected='at least 0.9', seeds=[0, 1])\n"
        "lk.claim('Removing the cue hurts less than shuffling it', False, measured=[0.4, 0.5], expected='0.2 more')")])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outs = nb.cells[0].outputs
    assert len(outs) == 2 and all(o.output_type == "display_data" for o in outs)  # shown once each
    first, second = claims.read(nb)
    assert first == {"text": "The CNN recognises shapes anywhere", "holds": True,
                     "measured": {"o.o.d. accuracy": 0.93}, "expected": "at least 0.9", "seeds": [0, 1], "note": ""}
    assert second["holds"] is False
    assert outs[0].data["text/plain"].startswith("✓ The CNN") and "seeds: 0, 1" in outs[0].data["text/plain"]
    assert "✗ Removing" in outs[1].data["text/plain"] and "did not hold in this run" in outs[1].data["text/plain"]
    assert "labkit-claim" in outs[1].data["text/html"] and json.loads(json.dumps(outs[0].data[claims.CLAIM_MIME]))


def test_claims_take_numpy_and_torch_and_refuse_what_is_not_a_truth_value(capsys):
    lk.claim("a tensor", torch.tensor(True), measured=torch.tensor([0.5, 0.25]))
    lk.claim("numpy", np.bool_(False), measured=np.float32(0.5))
    out = capsys.readouterr().out  # outside IPython: printed
    assert "✓ a tensor | measured: [0.5, 0.25]" in out and "✗ numpy" in out
    with pytest.raises(TypeError, match="True or False"):
        lk.claim("a number is not a truth value", 0.93)
    with pytest.raises(ValueError, match="sentence"):
        lk.claim("", True)
    with pytest.raises(TypeError, match="measured value"):
        lk.claim("an object", True, measured=object())


def test_labkit_seed_sets_the_base_seed_and_says_so(capsys):
    with mock.patch.dict(os.environ, LABKIT_SEED="7"):
        info = lk.setup(seed=0)
        assert info.seed == 7 and lk.seeds(3) == [7, 8, 9]
        assert "seed: 7 (from LABKIT_SEED)" in capsys.readouterr().out
    with mock.patch.dict(os.environ, LABKIT_SEED="seven"), pytest.raises(ValueError, match="LABKIT_SEED"):
        lk.setup(seed=0)
    os.environ.pop("LABKIT_SEED", None)
    assert lk.setup(seed=3, verbose=False).seed == 3 and lk.seeds(2) == [3, 4]
    with pytest.raises(ValueError, match="positive integer"):
        lk.seeds(0)
    code = "import labkit as lk; lk.setup(seed=0); import numpy as np; print(np.random.rand())"
    runs = [subprocess.run([sys.executable, "-c", code], env=dict(os.environ, LABKIT_SEED=s), capture_output=True,
                           text=True, check=True).stdout.splitlines()[-1] for s in ("0", "0", "5")]
    assert runs[0] == runs[1] != runs[2]


def test_a_claim_with_infinite_or_missing_values_is_valid_json(capsys):
    """JSON has no inf or NaN: they are shown and published as the words "inf" and "nan"."""
    import json as _json

    from labkit.claims import Claim, _plain

    record = Claim("t", True, _plain({"never": float("inf"), "none": float("nan"), "x": [1.5, -float("inf")]})).record()
    text = _json.dumps(record, allow_nan=False)
    assert _json.loads(text)["measured"] == {"never": "inf", "none": "nan", "x": [1.5, "-inf"]}
