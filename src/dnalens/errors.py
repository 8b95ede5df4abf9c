"""Errors dnalens raises for bad input.

Every error is one line that names where the problem is (a file and line, a
parameter, a record), what was expected and what was found, so the CLI can
print it without a traceback.
"""

from __future__ import annotations

__all__ = [
    "BedFormatError",
    "ConfigError",
    "ContigError",
    "CoordinateError",
    "DnalensError",
    "FastaError",
    "InputFileError",
    "ModelFileError",
    "OneHotError",
    "ParameterError",
    "SequenceError",
    "TrainingError",
]


class DnalensError(Exception):
    """Base class: a problem with the user's input, stated in one line."""


class InputFileError(DnalensError):
    """A file is missing, unreadable or not in the expected format."""


class FastaError(InputFileError):
    """A FASTA file or its index cannot be used."""


class BedFormatError(InputFileError):
    """A BED / narrowPeak line is malformed (names the file and line)."""


class ContigError(DnalensError):
    """A chromosome name is not in the genome, or the naming style differs."""


class CoordinateError(DnalensError):
    """An interval is malformed or lies outside its chromosome."""


class SequenceError(DnalensError):
    """A DNA string or one-hot tensor is not what the function expects."""


class ConfigError(DnalensError):
    """A run configuration has an unknown key, a wrong type or a bad value."""


class ParameterError(DnalensError, ValueError):
    """A Python API function got a bad argument (for a bad YAML key, see ConfigError).

    Raised by :mod:`dnalens.checks`; also a ValueError, so callers that already catch
    ValueError for bad arguments keep working.
    """


class ModelFileError(InputFileError):
    """A saved model (model.json + model.safetensors) is missing or corrupt."""


class TrainingError(DnalensError):
    """Training cannot go on (for example the loss became NaN)."""


class OneHotError(ParameterError, SequenceError):
    """An argument is not one-hot DNA.

    Raised by :func:`dnalens.checks.check_one_hot`. Both a ParameterError (a bad argument)
    and a SequenceError (what ``ism``, ``attribute`` and the models' ``forward`` raised for
    bad one-hot before that check existed), so callers catching either keep working.
    """
