"""Run configs: one-line errors with the key's dotted path, and paths relative to the YAML file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dnalens.config import (
    DataConfig,
    RunConfig,
    dump_config,
    load_data_config,
    load_run_config,
    parse_run_config,
)
from dnalens.errors import ConfigError, InputFileError

MINIMAL = """\
name: demo
data:
  genome: genome.fa
  targets:
    - name: ctcf
      bed: peaks/ctcf.bed
"""


@pytest.fixture
def config_path(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()

    def write(text: str) -> Path:
        path = folder / "run.yaml"
        path.write_text(text)
        return path

    return write


def test_minimal_config_defaults(config_path):
    config = load_run_config(config_path(MINIMAL))
    assert isinstance(config, RunConfig)
    assert config.seed == 0
    assert config.data.windows.bin_size == 200
    assert config.data.windows.input_length == 1000
    assert config.model.name == "deepsea"
    assert config.train.loss == "bce"


def test_relative_paths_are_resolved_against_the_yaml_folder(config_path, tmp_path):
    text = MINIMAL + ("  split:\n    valid_regions: ../regions/valid.bed\n"
                      "  blacklist: /abs/blacklist.bed\noutput_dir: out\n")
    config = load_run_config(config_path(text))
    folder = (tmp_path / "configs").resolve()
    assert config.data.genome == folder / "genome.fa"
    assert config.data.targets[0].bed == folder / "peaks" / "ctcf.bed"
    valid = (tmp_path / "regions" / "valid.bed").resolve()
    assert config.data.split.valid_regions.resolve() == valid
    assert config.data.split.test_regions is None
    assert config.data.blacklist == Path("/abs/blacklist.bed")
    assert config.output_dir == folder / "out"
    assert config.run_dir == folder / "out" / "demo"


def test_relative_path_from_another_working_directory(config_path, tmp_path, monkeypatch):
    config_path(MINIMAL)
    monkeypatch.chdir(tmp_path)
    config = load_run_config(Path("configs") / "run.yaml")
    assert config.data.genome == (tmp_path / "configs" / "genome.fa").resolve()


def test_table_paths_are_resolved(config_path, tmp_path):
    config = load_run_config(config_path("name: t\ndata:\n  table:\n    path: seqs.fa\n"
                                         "    labels: labels.tsv\n"))
    folder = (tmp_path / "configs").resolve()
    assert config.data.table.path == folder / "seqs.fa"
    assert config.data.table.labels == folder / "labels.tsv"


def test_typo_in_a_nested_key(config_path):
    path = config_path(MINIMAL + "  windows:\n    bin_sise: 100\n")
    expected = f"{path}: unknown key 'data.windows.bin_sise' (did you mean 'bin_size'?)"
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        load_run_config(path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("modle: {}\n", "unknown key 'modle' (did you mean 'model'?)"),
        ("data2: 1\n", "unknown key 'data2' (did you mean 'data'?)"),
        ("train:\n  zzz: 1\n", "unknown key 'train.zzz'"),
    ],
)
def test_typo_in_a_top_level_or_unguessable_key(config_path, extra, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_run_config(config_path(MINIMAL + extra))


def test_typo_inside_a_list_entry(config_path):
    text = MINIMAL.replace("      bed: peaks/ctcf.bed", "      bed: peaks/ctcf.bed\n      wher: {}")
    with pytest.raises(ConfigError, match=re.escape(
            "unknown key 'data.targets.0.wher' (did you mean 'where'?)")):
        load_run_config(config_path(text))


def test_typo_of_a_required_key_is_named(config_path):
    text = MINIMAL.replace("bed: peaks/ctcf.bed", "bde: peaks/ctcf.bed")
    with pytest.raises(ConfigError, match=re.escape(
            "unknown key 'data.targets.0.bde' (did you mean 'bed'?)")):
        load_run_config(config_path(text))


def test_wrong_type(config_path):
    with pytest.raises(ConfigError, match=re.escape(
            "data.windows.bin_size: input should be a valid integer, unable to parse string as an "
            "integer; got 'big'")):
        load_run_config(config_path(MINIMAL + "  windows:\n    bin_size: big\n"))


def test_value_out_of_range(config_path):
    with pytest.raises(ConfigError, match=re.escape(
            "data.windows.min_overlap: input should be less than or equal to 1; got 1.5")):
        load_run_config(config_path(MINIMAL + "  windows:\n    min_overlap: 1.5\n"))


def test_bad_choice_and_further_problems_are_counted(config_path):
    text = MINIMAL + "  windows:\n    mode: tiles\n    bin_size: -1\n"
    with pytest.raises(ConfigError, match=re.escape(
            "data.windows.mode: input should be 'tile' or 'peaks'; got 'tiles' (and 1 more "
            "problem(s))")):
        load_run_config(config_path(text))


@pytest.mark.parametrize(
    ("text", "key"), [("data: {genome: g.fa}\n", "name"), ("name: x\n", "data")]
)
def test_missing_required_key(config_path, text, key):
    with pytest.raises(ConfigError, match=re.escape(f"missing required key '{key}'")):
        load_run_config(config_path(text))


def test_data_needs_a_source(config_path):
    with pytest.raises(ConfigError, match=re.escape(
            "data: give either 'table', or 'genome' with at least one 'targets' "
            "entry")):
        load_run_config(config_path("name: x\ndata:\n  genome: g.fa\n"))


def test_table_and_targets_together(config_path):
    with pytest.raises(ConfigError, match=re.escape(
            "give one source of examples; got targets and table")):
        load_run_config(config_path(MINIMAL + "  table:\n    path: t.tsv\n"))


def test_duplicate_target_names(config_path):
    text = MINIMAL + "    - name: ctcf\n      bed: other.bed\n"
    with pytest.raises(ConfigError, match=re.escape("target names must be unique; got ['ctcf', "
                                                    "'ctcf']")):
        load_run_config(config_path(text))


def test_invalid_yaml_names_the_line(config_path):
    path = config_path("name: x\ndata: [1, 2\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:3: not valid YAML")):
        load_run_config(path)


def test_yaml_that_is_not_a_mapping(config_path):
    with pytest.raises(ConfigError, match="expected a mapping of keys at the top level"):
        load_run_config(config_path("- a\n- b\n"))


def test_missing_config_file(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.yaml: no such config file"):
        load_run_config(tmp_path / "nope.yaml")


def test_parse_run_config_names_its_source():
    with pytest.raises(ConfigError, match=r"^my\.yaml: missing required key 'name'"):
        parse_run_config({"data": {}}, Path("/base"), source="my.yaml")


def test_load_data_config_with_and_without_data_key(tmp_path):
    body = "genome: g.fa\ntargets:\n  - {name: a, bed: a.bed}\n"
    (tmp_path / "whole.yaml").write_text("data:\n" + "".join(f"  {line}\n" for line in
                                                           body.splitlines()))
    (tmp_path / "bare.yaml").write_text(body)
    whole = load_data_config(tmp_path / "whole.yaml")
    bare = load_data_config(tmp_path / "bare.yaml")
    assert isinstance(whole, DataConfig)
    assert whole == bare
    assert whole.genome == tmp_path.resolve() / "g.fa"


def test_dump_config_round_trip(config_path):
    config = load_run_config(config_path(MINIMAL + "  windows:\n    stride: 50\n"))
    raw = yaml.safe_load(dump_config(config))
    assert raw["data"]["windows"]["stride"] == 50
    assert isinstance(raw["data"]["genome"], str)
    assert parse_run_config(raw, Path("/elsewhere")) == config
