"""Transfer learning: tensors of a saved model copied into a new one, by name or by prefix."""

from __future__ import annotations

import pytest
import torch

from dnalens.errors import ConfigError, ModelFileError
from dnalens.models import build_model, save_model
from dnalens.models.transfer import transfer_weights

AKITA = {"input_length": 4096, "bin_size": 256, "crop_bins": 1, "n_tasks": 1,
         "stem_channels": 8, "stem_kernel": 9, "stem_pool": 16, "tower_channels": 4,
         "tower_pool": 16, "residual_channels": 4, "residual_repeat": 1, "trunk_channels": 4,
         "channels_2d": 4, "residual_channels_2d": 4, "residual_repeat_2d": 1}
DEEPC = {"input_length": 4096, "band_bins": 4, "bin_size": 256, "conv_channels": [8, 4],
         "kernel_sizes": [9, 5], "pool_sizes": [16, 16], "channels": 4, "dilations": [1, 2],
         "dropout": 0.0}


@pytest.fixture
def saved_akita(tmp_path):
    torch.manual_seed(0)
    model = build_model("akita", **AKITA)
    save_model(model, tmp_path / "akita", tasks=["hic"])
    return model, tmp_path / "akita"


def test_same_architecture_copies_every_tensor(saved_akita):
    source, folder = saved_akita
    torch.manual_seed(1)
    model = build_model("akita", **AKITA)
    copied = transfer_weights(model, folder)
    assert copied == list(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, source.state_dict()[name]), name


def test_prefix_map_copies_akitas_stem_into_deepc_and_can_freeze_it(saved_akita):
    source, folder = saved_akita
    torch.manual_seed(1)
    model = build_model("deepc", **DEEPC)
    untouched = model.trunk[6].weight.detach().clone()  # the second conv
    copied = transfer_weights(model, folder, {"trunk.1.weight": "trunk.trunk_1d.0.conv.weight",
                                              "trunk.2": "trunk.trunk_1d.0.norm"}, freeze=True)
    assert copied == ["trunk.1.weight", "trunk.2.weight", "trunk.2.bias",
                      "trunk.2.running_mean", "trunk.2.running_var",
                      "trunk.2.num_batches_tracked"]
    assert torch.equal(model.trunk[1].weight, source.trunk.trunk_1d[0].conv.weight)
    assert torch.equal(model.trunk[2].bias, source.trunk.trunk_1d[0].norm.bias)
    assert torch.equal(model.trunk[6].weight, untouched)
    # Frozen: a training step moves the rest of the model but not the copied stem.
    stem = model.trunk[1].weight.detach().clone()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert not model.trunk[1].weight.requires_grad and model.trunk[1].bias.requires_grad
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 4096)), 4).float().transpose(1, 2)
    model(x).pow(2).mean().backward()
    optimizer.step()
    assert torch.equal(model.trunk[1].weight, stem)
    assert not torch.equal(model.trunk[6].weight, untouched)


def test_transfer_errors_name_what_is_wrong(saved_akita, tmp_path):
    _, folder = saved_akita
    model = build_model("deepc", **DEEPC)
    with pytest.raises(ConfigError, match=r"the model has no tensor 'stem' or 'stem\.\*'"):
        transfer_weights(model, folder, {"stem": "trunk.trunk_1d.0"})
    with pytest.raises(ConfigError, match=r"has no tensor 'trunk\.nope\.weight' for "
                                          r"'trunk\.1\.weight'"):
        transfer_weights(model, folder, {"trunk.1": "trunk.nope"})
    with pytest.raises(ConfigError, match=r"'trunk.trunk_1d.1.conv.weight' has shape "
                                          r"\(4, 8, 5\), but 'trunk.1.weight' needs \(8, 4, 9\)"):
        transfer_weights(model, folder, {"trunk.1.weight": "trunk.trunk_1d.1.conv.weight"})
    with pytest.raises(ConfigError, match="shares no tensor of the same name and shape"):
        transfer_weights(model, folder)
    with pytest.raises(ModelFileError, match="no such folder"):
        transfer_weights(model, tmp_path / "missing")
