"""Labelled sequence tables: TSV ``id sequence label...`` or FASTA plus a label table.

For tasks given as sequences rather than genome coordinates (promoter vs
enhancer, TF A vs TF B peaks). Sequences are upper-cased on read: soft-masking
(lowercase repeats) often differs between classes and a model would learn it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.alphabet import N_CODE, encode_codes
from dnalens.errors import ConfigError, InputFileError

__all__ = ["random_split", "read_fasta_table", "read_sequence_table", "table_codes"]


def read_sequence_table(path: str | Path) -> pd.DataFrame:
    """Read a TSV with a header ``id  sequence  label [label2 ...]``.

    Returns
    -------
    DataFrame with columns id, sequence (upper case) and one float column per label.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such sequence table")
    try:
        df = pd.read_csv(path, sep="\t", dtype={"id": str, "sequence": str},
                         compression="infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputFileError(f"{path}: not a tab-separated table ({err})") from None
    return _validate(df, path)


def read_fasta_table(fasta: str | Path, labels: str | Path) -> pd.DataFrame:
    """Sequences from a FASTA joined to a TSV ``id label [label2 ...]`` by record id."""
    fasta, labels = Path(fasta), Path(labels)
    records = _read_fasta(fasta)
    try:
        table = pd.read_csv(labels, sep="\t", dtype={"id": str}, compression="infer")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputFileError(f"{labels}: cannot read the label table ({err})") from None
    if "id" not in table.columns:
        raise InputFileError(f"{labels}: needs a header with an 'id' column; got "
                             f"{list(table.columns)}")
    missing = sorted(set(table["id"]) - set(records))
    if missing:
        raise InputFileError(f"{labels}: {len(missing)} id(s) not in {fasta.name}, e.g. "
                             f"'{missing[0]}'")
    table.insert(1, "sequence", table["id"].map(records))
    return _validate(table, labels)


def _read_fasta(path: Path) -> dict[str, str]:
    import gzip

    if not path.exists():
        raise InputFileError(f"{path}: no such FASTA file")
    with open(path, "rb") as handle:
        opener = gzip.open if handle.read(2) == b"\x1f\x8b" else open
    records: dict[str, list[str]] = {}
    name = None
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith(">"):
                name = line[1:].split()[0] if line[1:].strip() else ""
                if not name or name in records:
                    raise InputFileError(f"{path}:{number}: empty or repeated record name")
                records[name] = []
            elif line.strip():
                if name is None:
                    raise InputFileError(f"{path}:{number}: sequence before the first '>' line")
                records[name].append(line.strip())
    return {k: "".join(v) for k, v in records.items()}


def _validate(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    required = {"id", "sequence"}
    if not required <= set(df.columns):
        raise InputFileError(f"{path}: needs columns 'id' and 'sequence' plus labels; got "
                             f"{list(df.columns)}")
    label_columns = [c for c in df.columns if c not in ("id", "sequence", "split")]
    if not label_columns:
        raise InputFileError(f"{path}: no label column after 'sequence'")
    if df.empty:
        raise InputFileError(f"{path}: no sequences")
    empty = df["sequence"].isna() | (df["sequence"].str.len() == 0)
    if empty.any():
        raise InputFileError(f"{path}:{int(np.flatnonzero(empty)[0]) + 2}: empty sequence")
    for column in label_columns:
        values = pd.to_numeric(df[column], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna())[0])
            raise InputFileError(f"{path}:{row + 2}: label '{column}' must be a number; got "
                                 f"{df[column].iloc[row]!r}")
        df[column] = values.astype(np.float32)
    df["sequence"] = df["sequence"].str.upper()
    return df.reset_index(drop=True)


def table_codes(sequences: pd.Series | list[str], length: int | None = None) -> np.ndarray:
    """Base codes of sequences, centred and padded with N (or centre-cropped) to one length.

    Returns
    -------
    np.ndarray, shape (n, length), uint8
    """
    seqs = list(sequences)
    length = length or max(len(s) for s in seqs)
    out = np.full((len(seqs), length), N_CODE, dtype=np.uint8)
    for i, seq in enumerate(seqs):
        codes = encode_codes(seq)
        if codes.size >= length:
            lo = (codes.size - length) // 2
            out[i] = codes[lo : lo + length]
        else:
            lo = (length - codes.size) // 2
            out[i, lo : lo + codes.size] = codes
    return out


def random_split(labels: np.ndarray, valid_fraction: float, test_fraction: float,
                 seed: int) -> np.ndarray:
    """'train'/'valid'/'test' per row, stratified on the first label column.

    Returns
    -------
    np.ndarray of str, shape (n,)
    """
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise ConfigError(f"split fractions must be >= 0 and sum below 1; got valid "
                          f"{valid_fraction}, test {test_fraction}")
    rng = np.random.default_rng(seed)
    key = np.asarray(labels).reshape(len(labels), -1)[:, 0]
    split = np.full(len(key), "train", dtype=object)
    for value in np.unique(key):
        rows = rng.permutation(np.flatnonzero(key == value))
        n_test = round(test_fraction * rows.size)
        n_valid = round(valid_fraction * rows.size)
        split[rows[:n_test]] = "test"
        split[rows[n_test : n_test + n_valid]] = "valid"
    return split.astype(str)
