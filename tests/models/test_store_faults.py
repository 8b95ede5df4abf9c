"""Model folders that are damaged or do not fit their card: one ModelFileError line each.

A fault corpus with the expected messages, then property tests: any byte-level damage to
model.json or model.safetensors, or any field of the card replaced, either loads or raises
a one-line DnalensError naming the file; nothing else escapes. ``CASES`` counts the examples
for benchmarks/fuzz_parsers.py.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from dnalens.errors import DnalensError, ModelFileError
from dnalens.models import build_model, load_model, save_model

CASES: collections.Counter[str] = collections.Counter()
# benchmarks/fuzz_parsers.py raises the count through DNALENS_FUZZ_EXAMPLES.
SETTINGS = settings(max_examples=int(os.environ.get("DNALENS_FUZZ_EXAMPLES", "60")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
TASKS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def saved():
    """A small saved MLP (40 bp, hidden layer of 8, 3 tasks)."""
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        yield save_model(build_model("mlp", input_length=40, n_tasks=3, hidden_sizes=[8]),
                         Path(folder) / "base", tasks=TASKS)


def _copy(saved: Path, folder: str | Path, name: str = "model") -> Path:
    return Path(shutil.copytree(saved, Path(folder) / name))


def _edit_card(folder: Path, **changes) -> None:
    card = folder / "model.json"
    data = json.loads(card.read_text())
    data.update(changes)
    card.write_text(json.dumps(data))


def _edit_tensors(folder: Path, change) -> None:
    path = folder / "model.safetensors"
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, str(path))


CARD_FAULTS = [
    ("card input_length disagrees", {"input_length": 1000},
     r"model\.json: input_length 1000 and n_tasks 3 disagree with the model its config builds "
     r"\(40, 3\)"),
    ("card n_tasks disagrees", {"n_tasks": 2, "tasks": ["a", "b"]},
     r"model\.json: input_length 40 and n_tasks 2 disagree"),
    ("negative input_length", {"input_length": -40}, r"model\.json: input_length -40 and"),
    ("unknown model", {"name": "nope"}, r"model\.json: unknown model 'nope'; known models:"),
    ("unknown parameter", {"config": {"input_length": 40, "n_tasks": 3, "depth": 2}},
     r"model\.json: model 'mlp' has no parameter 'depth'"),
    ("bad parameter value", {"config": {"input_length": 40, "n_tasks": 3, "dropout": 5.0}},
     r"model\.json: MLP: dropout must be in \[0, 1\)"),
    ("tasks not strings", {"tasks": [1, 2, 3]}, r"model\.json: field 'tasks' must be a list"),
]


@pytest.mark.parametrize(("case", "changes", "message"), CARD_FAULTS,
                         ids=[c[0] for c in CARD_FAULTS])
def test_card_faults(saved, tmp_path, case, changes, message):
    folder = _copy(saved, tmp_path)
    _edit_card(folder, **changes)
    with pytest.raises(ModelFileError, match=message):
        load_model(folder)


def test_card_nested_too_deeply(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match=r"model\.json: JSON nested too deeply"):
        load_model(folder)


@pytest.mark.parametrize("name", ["model.json", "model.safetensors"])
def test_a_folder_in_place_of_a_file(saved, tmp_path, name):
    folder = _copy(saved, tmp_path)
    (folder / name).unlink()
    (folder / name).mkdir()
    with pytest.raises(ModelFileError, match=rf"{name}: is not a file; a dnalens model folder"):
        load_model(folder)


TENSOR_FAULTS = [
    ("integer weights", lambda t: t.update({"head.bias": t["head.bias"].to(torch.int64)}),
     r"model\.safetensors: tensor types do not match model 'mlp' in model\.json: head\.bias "
     r"is torch\.int64, model wants torch\.float32"),
    ("bool weights", lambda t: t.update({"head.bias": t["head.bias"] > 0}),
     r"head\.bias is torch\.bool, model wants torch\.float32"),
    ("NaN weights", lambda t: t["head.weight"].fill_(float("nan")),
     r"model\.safetensors: NaN or infinite values in tensor\(s\): head\.weight"),
    ("infinite weights", lambda t: t["head.bias"].fill_(float("inf")),
     r"NaN or infinite values in tensor\(s\): head\.bias"),
    ("missing tensor", lambda t: t.pop("head.bias"), r"model\.safetensors: tensors do not match "
     r"model 'mlp' in model\.json: missing head\.bias"),
    ("extra tensor", lambda t: t.update({"junk": torch.zeros(2)}), r"unexpected junk"),
    ("wrong shape", lambda t: t.update({"head.bias": torch.zeros(4)}),
     r"head\.bias is \(4,\), model wants \(3,\)"),
]


@pytest.mark.parametrize(("case", "change", "message"), TENSOR_FAULTS,
                         ids=[c[0] for c in TENSOR_FAULTS])
def test_tensor_faults(saved, tmp_path, case, change, message):
    folder = _copy(saved, tmp_path)
    _edit_tensors(folder, change)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(folder)
    assert "\n" not in str(info.value)


def test_half_precision_weights_still_load(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_tensors(folder, lambda t: t.update({k: v.half() for k, v in t.items()}))
    x = torch.zeros(2, 4, 40)
    with torch.no_grad():
        torch.testing.assert_close(load_model(folder)(x), load_model(saved)(x), atol=1e-2,
                                   rtol=1e-2)


def _check(folder: Path) -> None:
    try:
        load_model(folder)
    except DnalensError as err:
        message = str(err)
        assert folder.name in message and "\n" not in message, message
    except Exception as err:  # the property: nothing but a DnalensError escapes
        pytest.fail(f"{type(err).__name__} escaped: {err}")


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes replaced, inserted or deleted, or with junk appended."""
    kind = draw(st.sampled_from(["truncate", "replace", "insert", "delete", "append"]))
    at = draw(st.integers(0, len(data) - 1))
    junk = draw(st.binary(min_size=1, max_size=8))
    if kind == "truncate":
        return data[:at]
    if kind == "replace":
        return data[:at] + junk + data[at + len(junk):]
    if kind == "insert":
        return data[:at] + junk + data[at:]
    if kind == "delete":
        return data[:at] + data[at + draw(st.integers(1, 16)):]
    return data + junk


@SETTINGS
@given(name=st.sampled_from(["model.json", "model.safetensors"]), data=st.data())
def test_damaged_files_load_or_name_the_file(saved, name, data):
    CASES[f"{name} bytes"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(saved, tmp, "damaged_model")
        original = (folder / name).read_bytes()
        if name == "model.safetensors":  # most of the file is weights: aim at the header too
            original = original[: 8 + int.from_bytes(original[:8], "little") + 64] \
                if data.draw(st.booleans()) else original
        (folder / name).write_bytes(data.draw(damaged_bytes(original)))
        _check(folder)


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                        st.lists(st.integers(-5, 50), max_size=3),
                        st.dictionaries(st.sampled_from(["input_length", "n_tasks", "x"]),
                                        st.integers(-5, 50), max_size=3))


@SETTINGS
@given(key=st.sampled_from(["format", "format_version", "name", "config", "tasks",
                            "input_length", "n_tasks", "alphabet", "extra"]),
       value=JSON_VALUES)
def test_any_card_field_replaced_loads_or_names_the_file(saved, key, value):
    CASES["model.json fields"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy(saved, tmp, "edited_model")
        card = json.loads((folder / "model.json").read_text())
        card[key] = value
        (folder / "model.json").write_text(json.dumps(card))
        _check(folder)
