"""Run configuration: a YAML file validated by pydantic.

Unknown keys and wrong types are errors with the key's dotted path, never
silently ignored. Relative paths are read relative to the YAML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from dnalens.config_errors import describe_validation_error
from dnalens.errors import ConfigError, InputFileError

__all__ = [
    "AugmentConfig",
    "ContactConfig",
    "CoverageConfig",
    "DataConfig",
    "ModelConfig",
    "PairsConfig",
    "RunConfig",
    "SpliceConfig",
    "SplitConfig",
    "TableConfig",
    "TargetConfig",
    "TrainConfig",
    "WindowConfig",
    "dump_config",
    "load_data_config",
    "load_run_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetConfig(_Strict):
    """One task: a peak set from a BED/narrowPeak file, optionally filtered by columns."""

    name: str
    bed: Path
    where: dict[str, str | int | float] = Field(default_factory=dict)


class WindowConfig(_Strict):
    """How bins are chosen; the model sees ``input_length`` bp centred on each bin."""

    mode: Literal["tile", "peaks"] = "tile"
    eval_mode: Literal["tile", "peaks"] = "tile"
    bin_size: PositiveInt = 200
    input_length: PositiveInt = 1000
    stride: PositiveInt | None = None
    min_overlap: float = Field(0.5, gt=0, le=1)
    negatives_per_positive: NonNegativeFloat = 1.0
    max_n_fraction: float = Field(0.5, ge=0, le=1)
    # Chromosomes, or regions 'chr2:1,300,001-1,750,000' (1-based inclusive, as samtools)
    # tiled on their chromosome's grid: see dnalens.data.windows.window_regions.
    chroms: list[str] | None = None

    @field_validator("chroms")
    @classmethod
    def _regions(cls, chroms: list[str] | None) -> list[str] | None:
        from dnalens.regions import check_region_entry

        return [check_region_entry(entry) for entry in chroms] if chroms else chroms


class SplitConfig(_Strict):
    """Held-out chromosomes or regions (genomes), or random fractions (tables).

    ``region_selection`` says which bins a held-out region holds: 'centre' (default) those
    whose centre lies in it, their input windows reaching up to input_length / 2 outside;
    'window' only those whose whole input window lies inside (see
    :func:`dnalens.data.windows.assign_split_by_regions`).
    """

    valid_chroms: list[str] = Field(default_factory=list)
    test_chroms: list[str] = Field(default_factory=list)
    valid_regions: Path | None = None
    test_regions: Path | None = None
    valid_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.1, ge=0, lt=1)
    region_selection: Literal["centre", "window"] = "centre"


class AugmentConfig(_Strict):
    reverse_complement: bool = False
    max_shift: NonNegativeInt = 0


class TableConfig(_Strict):
    """Sequences given directly: a TSV ``id sequence label...`` or a FASTA plus ``labels``."""

    path: Path
    labels: Path | None = None
    length: PositiveInt | None = None


class SpliceConfig(_Strict):
    """Per-base splice-site labels from a gene annotation, as SpliceAI was trained.

    Each transcript is tiled, in its own orientation, by blocks of ``output_length`` labelled
    bases (0 neither, 1 acceptor, 2 donor, -1 past the transcript's end); the model sees each
    block plus ``context / 2`` bases on either side, N outside the transcript.
    """

    annotation: Path
    output_length: PositiveInt = 5000
    context: PositiveInt | None = None
    chroms: list[str] | None = None

    @model_validator(mode="after")
    def _even_context(self) -> SpliceConfig:
        if self.context is not None and self.context % 2:
            raise ValueError(f"splice.context must be even (half on each side); got "
                             f"{self.context}")
        return self


class _LongWindows(_Strict):
    """Windows tiled along chromosomes for the long-range targets."""

    input_length: PositiveInt = 131072
    stride: PositiveInt | None = None
    chroms: list[str] | None = None
    max_n_fraction: float = Field(0.5, ge=0, le=1)


class CoverageConfig(_LongWindows):
    """Binned coverage from bigWig tracks (Basenji/Enformer targets).

    ``tracks`` is a TSV ``name file [summary transform clip scale]`` (see
    :func:`dnalens.io.tracks.read_track_list`). Each window of ``input_length`` bp yields
    ``input_length / bin_size - 2 * crop_bins`` target bins per track, the centre ones.
    ``crop_bins`` defaults to ``model.params.crop_bins`` (else 0).
    """

    tracks: Path
    bin_size: PositiveInt = 128
    crop_bins: NonNegativeInt | None = None


class ContactConfig(_LongWindows):
    """Hi-C contact maps from a .cool/.mcool (Akita / deepC targets).

    Targets are log observed/expected of the balanced map (NaN where a bin has no
    coverage; masked from the loss), optionally smoothed (``sigma`` bins). ``layout`` 'map'
    gives the upper triangle of the window's map less ``crop_bins`` each side and the
    ``diagonal_offset`` diagonals nearest the main one (Akita); 'strip' gives deepC's zig-zag
    strip of ``band_bins`` distances above the window centre.
    """

    cool: Path
    resolution: PositiveInt | None = None
    input_length: PositiveInt = 1048576
    layout: Literal["map", "strip"] = "map"
    crop_bins: NonNegativeInt | None = None
    diagonal_offset: NonNegativeInt | None = None
    band_bins: PositiveInt | None = None
    sigma: NonNegativeFloat = 0.0
    balance: bool = True


class PairsConfig(_Strict):
    """Enhancer-promoter pairs from a BEDPE (label in column 7); the model sees the two
    anchors' windows of ``anchor_length`` bp, centred on each anchor, end to end."""

    bedpe: Path
    anchor_length: PositiveInt = 1000


class DataConfig(_Strict):
    genome: Path | None = None
    targets: list[TargetConfig] = Field(default_factory=list)
    table: TableConfig | None = None
    splice: SpliceConfig | None = None
    coverage: CoverageConfig | None = None
    contacts: ContactConfig | None = None
    pairs: PairsConfig | None = None
    windows: WindowConfig = Field(default_factory=WindowConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    blacklist: Path | None = None
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    rename_contigs: bool = True
    chrom_map: dict[str, str] = Field(default_factory=dict)

    @property
    def kind(self) -> str:
        """Which targets: 'table', 'peaks', 'splice', 'coverage', 'contacts' or 'pairs'."""
        for name in ("table", "splice", "coverage", "contacts", "pairs"):
            if getattr(self, name) is not None:
                return name
        return "peaks"

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        sources = [name for name in ("targets", "table", "splice", "coverage", "contacts",
                                     "pairs") if getattr(self, name)]
        if len(sources) > 1:
            raise ValueError(f"give one source of examples; got {' and '.join(sources)}")
        if self.table is None and (self.genome is None or not sources):
            raise ValueError("give either 'table', or 'genome' with at least one 'targets' "
                             "entry (or with 'splice', 'coverage', 'contacts' or 'pairs')")
        if (self.contacts is not None and self.contacts.layout == "strip"
                and self.augment.reverse_complement):
            raise ValueError("augment.reverse_complement needs data.contacts.layout 'map': "
                             "deepC's strip above the centre bin has no mirror image")
        if self.splice is not None and (self.augment.reverse_complement
                                        or self.augment.max_shift):
            raise ValueError("augment does not apply to 'splice' data (labels are strand "
                             "specific); remove data.augment")
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"target names must be unique; got {names}")
        return self


class InitConfig(_Strict):
    """Start from a saved model's weights (a run folder or a ``save_model`` folder).

    ``layers`` maps a prefix of this model's tensor names to one of the source's (empty:
    every tensor both models have, same name and shape); ``freeze`` keeps the copied
    parameters fixed. See :func:`dnalens.models.transfer.transfer_weights`.
    """

    model: Path
    layers: dict[str, str] = Field(default_factory=dict)
    freeze: bool = False


class MotifInitConfig(_Strict):
    """First-layer filters started at known motifs' log-odds (both strands); see
    :func:`dnalens.models.motif_init.init_filters_from_motifs`. ``names`` are name parts
    searched in ``database`` (a MEME file; the bundled JASPAR 2024 clusters by default)."""

    names: list[str] = Field(min_length=1)
    database: Path | None = None
    scale: PositiveFloat = 1.0


class ModelConfig(_Strict):
    name: str = "deepsea"
    params: dict[str, Any] = Field(default_factory=dict)
    init: InitConfig | None = None
    motifs: MotifInitConfig | None = None


class TrainConfig(_Strict):
    loss: Literal["bce", "mse", "poisson", "multinomial_poisson", "categorical"] = "bce"
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = 1e-3
    momentum: NonNegativeFloat = 0.9
    l2: NonNegativeFloat = 0.0
    l1: NonNegativeFloat = 0.0
    batch_size: PositiveInt = 64
    max_epochs: PositiveInt = 10
    patience: PositiveInt = 3
    monitor: Literal["val_loss", "val_auroc", "val_auprc", "val_topk", "val_pearson"] = \
        "val_loss"
    pos_weight: Literal["none", "balanced"] | list[PositiveFloat] = "none"
    ensemble: PositiveInt = 1
    baseline: Literal["kmer", "none"] = "kmer"
    kmer_k: PositiveInt = 5
    num_workers: NonNegativeInt = 0
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    precision: str = "32-true"
    accumulate_grad_batches: PositiveInt = 1
    gradient_clip: PositiveFloat | None = None
    checkpoint_minutes: PositiveFloat | None = None
    num_nodes: PositiveInt = 1
    limit_train_batches: PositiveFloat | PositiveInt = 1.0
    progress_bar: bool = True


class RunConfig(_Strict):
    name: str
    seed: int = 0
    output_dir: Path = Path("runs")
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="after")
    def _splice_defaults(self) -> RunConfig:
        """Splice data: loss 'categorical' unless given, and one context for data and model."""
        splice = self.data.splice
        if self.data.kind in ("coverage", "contacts"):
            return _long_range_defaults(self)
        if self.train.loss == "multinomial_poisson":
            raise ValueError("train.loss 'multinomial_poisson' needs binned coverage: add "
                             "data.coverage")
        if splice is None:
            if self.train.loss == "categorical":
                raise ValueError("train.loss 'categorical' needs per-base labels: add "
                                 "data.splice")
            if self.train.monitor == "val_topk":
                raise ValueError("train.monitor 'val_topk' is logged for data.splice runs only")
            return self
        if self.train.monitor == "val_auroc":
            raise ValueError("train.monitor for data.splice: val_loss, val_topk or val_auprc "
                             "(got 'val_auroc')")
        train = self.train
        if "loss" not in train.model_fields_set:
            train = train.model_copy(update={"loss": "categorical"})
        elif train.loss != "categorical":
            raise ValueError(f"data.splice labels each base with one of 3 classes; set "
                             f"train.loss to 'categorical' (got '{train.loss}')")
        model_context = self.model.params.get("context")
        if splice.context is not None and model_context is not None \
                and splice.context != model_context:
            raise ValueError(f"data.splice.context ({splice.context}) differs from "
                             f"model.params.context ({model_context})")
        context = splice.context or model_context or 10000
        data = self.data.model_copy(update={"splice": splice.model_copy(
            update={"context": context})})
        return self.model_copy(update={"data": data, "train": train})

    @property
    def run_dir(self) -> Path:
        return self.output_dir / self.name


def _long_range_defaults(config: RunConfig) -> RunConfig:
    """Coverage: loss 'poisson'; contacts: 'mse'; settings shared by data and model (crop,
    diagonal offset, band) taken from whichever gives them, and checked to agree."""
    data = config.data
    block_name = data.kind
    block = getattr(data, block_name)
    default_loss = "poisson" if block_name == "coverage" else "mse"
    allowed = ("poisson", "multinomial_poisson", "mse") if block_name == "coverage" else ("mse",)
    train = config.train
    if "loss" not in train.model_fields_set:
        train = train.model_copy(update={"loss": default_loss})
    elif train.loss not in allowed:
        raise ValueError(f"train.loss for data.{block_name}: {' or '.join(allowed)} (got "
                         f"'{train.loss}')")
    if train.monitor in ("val_auroc", "val_auprc", "val_topk"):
        raise ValueError(f"train.monitor for data.{block_name}: val_loss or val_pearson (got "
                         f"'{train.monitor}')")
    if block_name == "coverage":
        shared = {"crop_bins": 0}
    elif block.layout == "map":
        shared = {"crop_bins": 0, "diagonal_offset": 2}
    else:
        shared = {"band_bins": 64}
    updates = {}
    for key, fallback in shared.items():
        given, in_model = getattr(block, key), config.model.params.get(key)
        if given is not None and in_model is not None and given != in_model:
            raise ValueError(f"data.{block_name}.{key} ({given}) differs from "
                             f"model.params.{key} ({in_model})")
        updates[key] = given if given is not None else (in_model if in_model is not None
                                                         else fallback)
    data = data.model_copy(update={block_name: block.model_copy(update=updates)})
    return config.model_copy(update={"data": data, "train": train})


def _describe(error: ValidationError, schema: type[BaseModel], source: str) -> str:
    return describe_validation_error(error, schema, source)


def _resolve_paths(value: Any, base: Path) -> Any:
    if isinstance(value, BaseModel):
        updates = {k: _resolve_paths(getattr(value, k), base) for k in type(value).model_fields}
        return value.model_copy(update=updates)
    if isinstance(value, Path):
        return value if value.is_absolute() else (base / value)
    if isinstance(value, list):
        return [_resolve_paths(v, base) for v in value]
    return value


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise InputFileError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", err)
        raise ConfigError(f"{path}{line}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return raw


def _validate(schema: type[BaseModel], raw: dict, source: str) -> Any:
    try:
        return schema.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_describe(err, schema, source)) from None


def parse_run_config(raw: dict, base: Path, source: str = "config") -> RunConfig:
    """Validate a run config held as a dict; relative paths are taken from ``base``."""
    config = _validate(RunConfig, raw, source)
    return _resolve_paths(config, base)


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a run config YAML (see ``configs/`` for examples)."""
    path = Path(path)
    return parse_run_config(_read_yaml(path), path.resolve().parent, str(path))


def load_data_config(path: str | Path) -> DataConfig:
    """Read a data section: a YAML whose top-level ``data:`` key (or whole body) is a DataConfig."""
    path = Path(path)
    raw = _read_yaml(path)
    body = raw["data"] if "data" in raw and isinstance(raw["data"], dict) else raw
    return _resolve_paths(_validate(DataConfig, body, str(path)), path.resolve().parent)


def dump_config(config: BaseModel) -> str:
    """YAML text of a config (paths as strings), as saved in a run folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
