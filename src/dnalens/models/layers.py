"""Building blocks shared by the model families, plus the checks every model runs.

Shapes follow the package convention: DNA enters as (batch, 4, length), rows A, C, G, T.
Convolutions are 'valid' (no padding) and max-pooling uses kernel == stride with the
remainder dropped, as in the published DeepSEA, Basset and DanQ models, so the length after
each stage is plain arithmetic (see :func:`conv_length`, :func:`pool_length`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from dnalens import checks
from dnalens.errors import ConfigError

__all__ = [
    "BiLSTM",
    "check_input",
    "check_input_length",
    "conv_block",
    "conv_length",
    "dense_block",
    "length_after",
    "min_input_length",
    "pool_length",
    "require_config",
    "require_dropout",
    "require_positive",
    "require_same_length",
]

# A stage of a conv/pool stack, for length arithmetic: ("conv", kernel) or ("pool", size).
Stage = tuple[str, int]


# ---------------------------------------------------------------------------------------------
# Input check (run at the top of every forward)
# ---------------------------------------------------------------------------------------------


def check_input(x: Tensor, input_length: int, owner: str) -> None:
    """Raise if ``x`` is not a batch of one-hot DNA of the length the model was built for.

    Only the type and shape are checked (:func:`dnalens.checks.check_one_hot` with
    ``check_values=False``): this runs in every forward, where a value check would cost a
    device synchronisation per training step, and models legitimately see inputs that are
    not hard one-hot (integrated-gradients path points, designed soft sequences). The
    public API functions that take DNA check the values.

    Parameters
    ----------
    x : Tensor, shape (batch, 4, input_length)
        One-hot DNA, rows A, C, G, T.
    input_length : int
        Length the model was configured with.
    owner : str
        Model name used in the message, e.g. ``"DeepSEA"``.

    Raises
    ------
    dnalens.errors.OneHotError
        (a SequenceError) When ``x`` is not a tensor or its shape is not
        (batch, 4, input_length).
    """
    checks.check_one_hot(x, name="x", caller=owner, length=input_length,
                         require_tensor=True, check_values=False)


# ---------------------------------------------------------------------------------------------
# Length arithmetic
# ---------------------------------------------------------------------------------------------


def conv_length(length: int, kernel: int) -> int:
    """Output length of a 'valid' convolution with stride 1."""
    return length - kernel + 1


def pool_length(length: int, size: int) -> int:
    """Output length of max-pooling with kernel == stride == ``size`` (remainder dropped)."""
    return length // size


def length_after(length: int, stages: Sequence[Stage]) -> int:
    """Length left after running ``stages`` on an input of ``length`` (may be <= 0)."""
    for kind, size in stages:
        length = conv_length(length, size) if kind == "conv" else pool_length(length, size)
        if length <= 0:
            return length
    return length


def min_input_length(stages: Sequence[Stage]) -> int:
    """Shortest input that leaves at least one position after ``stages``.

    Walks the stack backwards: a pool of size p needs p * n inputs to give n outputs, a
    valid conv of kernel k needs n + k - 1.
    """
    need = 1
    for kind, size in reversed(stages):
        need = need + size - 1 if kind == "conv" else need * size
    return need


def check_input_length(owner: str, input_length: int, stages: Sequence[Stage]) -> int:
    """Return the length after ``stages``, raising ConfigError when it would be empty.

    Parameters
    ----------
    owner : str
        Model name used in the message.
    input_length : int
        Configured input length.
    stages : sequence of (str, int)
        ``("conv", kernel)`` or ``("pool", size)`` in forward order.

    Returns
    -------
    int
        Length of the trunk output (>= 1).
    """
    out = length_after(input_length, stages)
    if out < 1:
        raise ConfigError(
            f"{owner}: input_length {input_length} is too short for its conv/pool stack; "
            f"the minimum input_length is {min_input_length(stages)}"
        )
    return out


# ---------------------------------------------------------------------------------------------
# Config checks (the message shape: owner, parameter, what is allowed, what came in)
# ---------------------------------------------------------------------------------------------


def require_config(owner: str, config: object, config_cls: type) -> None:
    """Raise ConfigError unless ``config`` is an instance of ``config_cls``."""
    if not isinstance(config, config_cls):
        raise ConfigError(
            f"{owner}: config must be a {config_cls.__name__}, got {type(config).__name__}"
        )


def require_positive(owner: str, name: str, value: int | Sequence[int]) -> None:
    """Raise ConfigError unless ``value`` (or every item of it) is an int >= 1."""
    values = value if isinstance(value, Sequence) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            what = "positive integers" if isinstance(value, Sequence) else "a positive integer"
            raise ConfigError(f"{owner}: {name} must be {what}, got {value!r}")


def require_dropout(owner: str, name: str, value: float | Sequence[float]) -> None:
    """Raise ConfigError unless ``value`` (or every item of it) lies in [0, 1)."""
    values = value if isinstance(value, Sequence) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < 1.0:
            raise ConfigError(f"{owner}: {name} must be in [0, 1), got {value!r}")


def require_same_length(owner: str, **named: Sequence) -> None:
    """Raise ConfigError unless every sequence given has the same number of items."""
    lengths = {name: len(seq) for name, seq in named.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ConfigError(f"{owner}: one entry per conv layer is needed, but {listed}")


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------


def conv_block(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    *,
    pool_size: int = 1,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """Valid Conv1d -> [BatchNorm] -> ReLU -> [MaxPool] -> [Dropout].

    (batch, in_channels, L) -> (batch, out_channels, (L - kernel_size + 1) // pool_size).
    Optional parts are left out rather than added as identities, so state-dict keys only
    name layers that exist.
    """
    layers: list[nn.Module] = [nn.Conv1d(in_channels, out_channels, kernel_size)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_channels))
    layers.append(nn.ReLU())
    if pool_size > 1:
        layers.append(nn.MaxPool1d(pool_size))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def dense_block(
    in_features: int, out_features: int, *, dropout: float = 0.0, batch_norm: bool = False
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> ReLU -> [Dropout]: (batch, in_features) -> (batch, out_features)."""
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_features))
    layers.append(nn.ReLU())
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class BiLSTM(nn.Module):
    """Bidirectional LSTM over the length axis of a conv feature map.

    (batch, channels, L) -> (batch, L, 2 * hidden_size); the output keeps one vector per
    position (forward and backward states concatenated) so the caller can flatten it.
    """

    def __init__(self, in_channels: int, hidden_size: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden_size, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor) -> Tensor:
        # Conv layers are channels-first; the LSTM wants (batch, time, features).
        out, _ = self.lstm(x.transpose(1, 2))
        return out


class ConfigShape:
    """Mixin: ``input_length`` and ``n_tasks`` read from ``self.config`` (a model config
    dataclass with those two fields)."""

    config: Any

    @property
    def input_length(self) -> int:
        """Input length in bp the model takes (exactly)."""
        return self.config.input_length

    @property
    def n_tasks(self) -> int:
        """Number of outputs per position: tasks, tracks or contact maps."""
        return self.config.n_tasks
