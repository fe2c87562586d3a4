import pytest
import torch

import labkit as lk
from labkit.models import MLP, VGG, ResNet, SmallCNN, make_model

CASES = [
    (MLP, (1, 8, 8), {}),
    (MLP, (2,), {"hidden": (16,)}),
    (SmallCNN, (1, 8, 8), {}),
    (SmallCNN, (3, 32, 32), {"depth": 3, "norm": "batch"}),
    (VGG, (3, 32, 32), {}),
    (VGG, (1, 8, 8), {"widths": (8, 16)}),
    (ResNet, (3, 32, 32), {"blocks_per_stage": 2}),
    (ResNet, (1, 28, 28), {"norm": None}),
]


@pytest.mark.parametrize("cls,shape,kw", CASES)
def test_forward_shape_and_named_blocks(cls, shape, kw):
    model = cls(shape, 7, **kw).eval()
    x = torch.rand(5, *shape)
    out = model(x)
    assert out.shape == (5, 7)
    blocks = model.block_outputs(x)
    assert list(blocks) == model.block_names and model.block_names[-1] == "head"
    assert len(blocks) >= 2
    assert torch.allclose(blocks["head"], out)  # the last block's output is the logits
    flat = model.block_outputs(x, flatten=True)
    assert all(v.dim() == 2 and v.shape[0] == 5 for v in flat.values())


def test_block_names():
    assert MLP((4,), 2, hidden=(8, 8, 8)).block_names == ["fc1", "fc2", "fc3", "head"]
    assert SmallCNN((1, 8, 8), 2, depth=3).block_names == ["conv1", "conv2", "conv3", "head"]
    assert ResNet((3, 16, 16), 2).block_names == ["stem", "stage1", "stage2", "stage3", "head"]


def test_make_model_reads_the_data():
    data = lk.data.load_digits()
    model = make_model("cnn", data, width=8)
    assert model(data.X[:3]).shape == (3, 10)
    assert make_model("mlp", input_shape=(2,), n_classes=3)(torch.rand(4, 2)).shape == (4, 3)


def test_model_errors():
    with pytest.raises(ValueError, match="unknown model"):
        make_model("transformer", input_shape=(2,), n_classes=2)
    with pytest.raises(ValueError, match="needs data"):
        make_model("mlp")
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        SmallCNN((64,), 10)
    with pytest.raises(ValueError, match="unknown activation"):
        MLP((4,), 2, activation="swishy")
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        MLP((4,), 1)
    with pytest.raises(ValueError, match="unknown norm"):
        VGG((3, 8, 8), 2, norm="layer")
