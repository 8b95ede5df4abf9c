"""A checkpoint is never unpickled: a pickle that would run code is refused in one line."""

from __future__ import annotations

import os

import pytest
import torch

from dnalens.errors import DnalensError
from dnalens.train.checkpoints import load_checkpoint


class _WritesMarker:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # would create the marker file when unpickled


def test_malicious_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": _WritesMarker(str(marker))}, path)
    with pytest.raises(DnalensError, match=r"best\.ckpt: not a dnalens checkpoint") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_plain_tensor_checkpoint_loads(tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"model.w": torch.ones(2)}}, path)
    loaded = load_checkpoint(path)
    torch.testing.assert_close(loaded["state_dict"]["model.w"], torch.ones(2))
    assert not os.path.exists(tmp_path / "ran")
