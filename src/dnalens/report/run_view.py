"""A run folder as the report reads it: model card, model and genome, loaded when needed."""

from __future__ import annotations

from pathlib import Path

from dnalens.errors import ConfigError

__all__ = ["RunView"]


class RunView:
    """Lazily loaded pieces of a run folder (``dir``)."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self._model = None
        self._card = None
        self._genome = None

    @property
    def card(self):
        """The model card (``model.json``)."""
        if self._card is None:
            from dnalens.models.store import read_model_card

            self._card = read_model_card(self.dir)
        return self._card

    @property
    def model(self):
        """The model, in evaluation mode."""
        if self._model is None:
            from dnalens.models.store import load_model

            self._model = load_model(self.dir).eval()
        return self._model

    @property
    def genome(self):
        """The genome the run was trained on (from its ``config.yaml``)."""
        if self._genome is None:
            from dnalens.apply.evaluate import load_run_config_of
            from dnalens.io.genome import Genome

            if not (self.dir / "config.yaml").exists():
                raise ConfigError(f"{self.dir}: no config.yaml to find the genome")
            path = load_run_config_of(self.dir).data.genome
            if path is None:
                raise ConfigError(f"{self.dir}: the run was trained on a sequence table")
            self._genome = Genome(path)
        return self._genome
