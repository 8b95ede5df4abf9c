"""Data-parallel training under Lightning's DDP strategy on CPU: two processes (gloo) end a
step with identical weights, which differ from the initial ones."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from dnalens.data.datasets import SequenceDataset, make_loader
from dnalens.models import build_model
from dnalens.train.fit import quiet_lightning
from dnalens.train.task import SequenceTask


class SaveWeights(L.Callback):
    """Each rank writes its model weights after training."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        state = {k: v.detach().cpu().contiguous() for k, v in module.model.state_dict().items()}
        save_file(state, str(self.folder / f"rank{trainer.global_rank}.safetensors"))


@pytest.mark.slow
def test_two_gloo_processes_hold_identical_weights_after_a_step(tmp_path):
    quiet_lightning()
    torch.manual_seed(0)
    model = build_model("basenji", input_length=256, n_tasks=2, bin_size=8, crop_bins=2,
                        channels=6, n_dilated=1)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (16, 256)).astype(np.uint8)
    # Targets are (n, tasks, bins): SequenceDataset keeps any label shape per example.
    labels = rng.poisson(2.0, (16, 2, 28)).astype(np.float32)
    loader = make_loader(SequenceDataset(codes, labels), batch_size=4, shuffle=True)
    task = SequenceTask(model, loss="poisson", lr=0.01)
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", max_steps=2,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[SaveWeights(tmp_path)])
    trainer.fit(task, loader)
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys() == initial.keys()
    for name in ranks[0]:
        # Buffers (batch-norm statistics) are each rank's own; parameters are synchronised.
        if "running" in name or "num_batches" in name:
            continue
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    assert any(not torch.equal(ranks[0][n], initial[n]) for n in ranks[0]), "no step was taken"
