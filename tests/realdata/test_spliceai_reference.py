"""The imported SpliceAI models reproduce the original Keras outputs on real hg38 windows.

``../shared/spliceai/forward.npz`` holds, for the 6 windows of ``forward.fa`` (15,000 nt
each, already in model orientation), the logits and softmax outputs of ``spliceai1.h5`` ..
``spliceai5.h5`` and their float32 mean, computed by the unmodified spliceai 1.3.1 package
with TensorFlow on CPU. The weights come from the user's installed ``spliceai`` package
(the ``splice`` extra); nothing derived from them is stored in this repository.

The five models are imported once through ``dnalens splice import --from-package`` and run
once, as the loaded ensemble, with hooks recording each member's logits (about 10 s on
2 CPU cores).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from dnalens.cli.main import main
from dnalens.models import Ensemble, build_model, load_model
from dnalens.sequence.encoding import one_hot

ATOL = 1e-4  # the README's bound; another BLAS changes float32 results at about 1e-6
N_MODELS = 5


def _read_fasta(path: Path) -> tuple[list[str], list[str]]:
    names: list[str] = []
    chunks: list[list[str]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            names.append(line[1:])
            chunks.append([])
        elif line:
            chunks[-1].append(line.strip())
    return names, ["".join(c) for c in chunks]


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> dict:
    folder = shared_dir / "spliceai"
    for name in ("forward.fa", "forward.npz"):
        if not (folder / name).is_file():
            pytest.skip(f"../shared/spliceai/{name} is absent")
    if importlib.util.find_spec("spliceai") is None:
        pytest.skip("the spliceai package (weights) is not installed; pip install -e '.[splice]'")
    names, seqs = _read_fasta(folder / "forward.fa")
    with np.load(folder / "forward.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    return {"fasta_names": names, "x": one_hot(seqs), **arrays}


@pytest.fixture(scope="module")
def imported(reference: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The ensemble written by the CLI and loaded back, its output and its members' logits."""
    out = tmp_path_factory.mktemp("spliceai") / "model"
    assert main(["splice", "import", "--from-package", "--out", str(out)]) == 0
    ensemble = load_model(out)
    member_logits: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, y: member_logits.append(y))
             for m in ensemble.members]
    with torch.no_grad():
        logits = ensemble(reference["x"])
    for hook in hooks:
        hook.remove()
    # (batch, 3, L) -> (batch, L, 3), the layout of forward.npz.
    as_npz = [y.permute(0, 2, 1).numpy() for y in member_logits]
    return {"model": ensemble, "logits": as_npz,
            "ensemble": torch.softmax(logits, dim=1).permute(0, 2, 1).numpy()}


def test_import_builds_the_published_10k_architecture(imported):
    ensemble = imported["model"]
    assert isinstance(ensemble, Ensemble) and ensemble.config.average == "softmax"
    assert len(ensemble.members) == N_MODELS
    published = build_model("spliceai", context=10000).config
    assert all(m.config == published for m in ensemble.members)


def test_inputs_are_the_six_windows_of_the_reference(reference):
    assert reference["x"].shape == (6, 4, 15000)
    assert reference["fasta_names"] == [str(n) for n in reference["names"]]
    # N runs are all-zero columns, as spliceai's one_hot_encode makes them.
    assert reference["x"][5, :, :6000].sum() == 0 and reference["x"][5, :, -5500:].sum() == 0


@pytest.mark.parametrize("k", range(1, N_MODELS + 1))
def test_each_model_matches_keras_logits_and_softmax(reference, imported, k):
    logits = imported["logits"][k - 1]
    assert logits.shape == reference[f"logits{k}"].shape == (6, 5000, 3)
    np.testing.assert_allclose(logits, reference[f"logits{k}"], rtol=0, atol=ATOL)
    probs = torch.softmax(torch.from_numpy(logits), dim=2).numpy()
    np.testing.assert_allclose(probs, reference[f"model{k}"], rtol=0, atol=ATOL)


def test_ensemble_matches_the_float32_mean_of_keras_models(reference, imported):
    np.testing.assert_allclose(imported["ensemble"], reference["ensemble"], rtol=0, atol=ATOL)
    # The annotated sites are called: each gene window's top acceptor/donor scores are high.
    for w in range(4):
        assert imported["ensemble"][w, :, 1:].max() > 0.9, reference["names"][w]
