"""Sequence models: (batch, 4, length) one-hot DNA -> (batch, n_tasks) logits.

Importing this package registers every model family, so :func:`build_model` and
:func:`load_model` can find them by name::

    from dnalens.models import build_model, save_model, load_model

    model = build_model("deepsea", input_length=1000, n_tasks=919)
    save_model(model, "runs/demo", tasks=[f"task{i}" for i in range(919)])
    model = load_model("runs/demo")
"""

from __future__ import annotations

# Family modules register themselves on import; keep one import per family here.
from dnalens.models.akita import Akita, AkitaConfig
from dnalens.models.basenji import Basenji, BasenjiConfig
from dnalens.models.basset import Basset, BassetConfig
from dnalens.models.danq import DanQ, DanQConfig
from dnalens.models.deepc import DeepC, DeepCConfig
from dnalens.models.deepsea import DeepSEA, DeepSEAConfig
from dnalens.models.enformer import Enformer, EnformerConfig
from dnalens.models.ensemble import Ensemble, EnsembleConfig
from dnalens.models.kmer import KmerConfig, KmerLogistic
from dnalens.models.mlp import MLP, MLPConfig
from dnalens.models.neuron import Neuron, NeuronConfig
from dnalens.models.pair import Pair, PairConfig
from dnalens.models.registry import (
    build_model,
    io_shape,
    model_from_spec,
    model_names,
    model_spec,
    register,
)
from dnalens.models.spliceai import SpliceAI, SpliceAIConfig
from dnalens.models.store import ModelCard, load_model, read_model_card, save_model
from dnalens.models.strands import BothStrands, BothStrandsConfig

__all__ = [
    "MLP",
    "Akita",
    "AkitaConfig",
    "Basenji",
    "BasenjiConfig",
    "Basset",
    "BassetConfig",
    "BothStrands",
    "BothStrandsConfig",
    "DanQ",
    "DanQConfig",
    "DeepC",
    "DeepCConfig",
    "DeepSEA",
    "DeepSEAConfig",
    "Enformer",
    "EnformerConfig",
    "Ensemble",
    "EnsembleConfig",
    "KmerConfig",
    "KmerLogistic",
    "MLPConfig",
    "ModelCard",
    "Neuron",
    "NeuronConfig",
    "Pair",
    "PairConfig",
    "SpliceAI",
    "SpliceAIConfig",
    "build_model",
    "io_shape",
    "load_model",
    "model_from_spec",
    "model_names",
    "model_spec",
    "read_model_card",
    "register",
    "save_model",
]
