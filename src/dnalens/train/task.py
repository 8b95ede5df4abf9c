"""The LightningModule of dnalens: loss, penalties, optimiser and validation metrics
around a model that is passed in."""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from dnalens.data.splice import IGNORE, site_scores
from dnalens.errors import ConfigError, TrainingError
from dnalens.train.losses import MaskedMSE, MultinomialPoisson, PoissonRate
from dnalens.train.metrics import auprc, auroc, top_k_accuracy

__all__ = ["SequenceTask", "make_loss"]


def make_loss(name: str, pos_weight: Tensor | None = None, *, rates: bool = False
              ) -> nn.Module:
    """Loss on model outputs (logits for 'bce' and 'categorical', log-rates for 'poisson'
    unless ``rates``).

    Parameters
    ----------
    name : {'bce', 'mse', 'poisson', 'multinomial_poisson', 'categorical'}
        'categorical' is per-base cross-entropy over classes: outputs (batch, classes, L)
        logits, labels (batch, L) int64 class indices, -1 ignored (SpliceAI's loss).
        'mse' leaves NaN targets out (contact-map bins without coverage).
        'multinomial_poisson' is Basenji2's coverage loss (rates only).
    pos_weight : Tensor, shape (n_tasks,), optional
        Weight of positives per task (BCE only), e.g. n_neg / n_pos.
    rates : bool
        The model outputs non-negative rates (coverage models end in softplus), not
        log-rates.
    """
    if name == "bce":
        return nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    if pos_weight is not None:
        raise ConfigError(f"pos_weight applies to the 'bce' loss only; loss is '{name}'")
    if name == "mse":
        return MaskedMSE()
    if name == "poisson":
        return PoissonRate() if rates else nn.PoissonNLLLoss(log_input=True, full=False)
    if name == "multinomial_poisson":
        if not rates:
            raise ConfigError("the 'multinomial_poisson' loss needs a coverage model (basenji, "
                              "enformer) whose outputs are rates")
        return MultinomialPoisson()
    if name == "categorical":
        return nn.CrossEntropyLoss(ignore_index=IGNORE)
    raise ConfigError(f"unknown loss '{name}'; choose bce, mse, poisson, multinomial_poisson "
                      "or categorical")


def _penalised(parameters: list[tuple[str, nn.Parameter]]) -> list[nn.Parameter]:
    # L1 acts on weights of convolutions and linear layers, not on biases or norms.
    return [p for name, p in parameters if p.ndim > 1 and not name.endswith("bias")]


class SequenceTask(L.LightningModule):
    """Train a (batch, 4, L) -> (batch, n_tasks) model, or, with loss 'categorical', a
    (batch, 4, L + context) -> (batch, 3, L) splice-site model.

    Parameters
    ----------
    model : nn.Module
    loss : {'bce', 'mse', 'poisson', 'categorical'}
    optimizer : {'adam', 'adamw', 'sgd'}
    lr, momentum : float
    l2 : float
        Weight decay (an L2 penalty for Adam and SGD, decoupled for AdamW).
    l1 : float
        Coefficient of the summed absolute weights added to the loss.
    pos_weight : list of float, optional
        Per-task positive weight for 'bce'.
    """

    def __init__(self, model: nn.Module, *, loss: str = "bce", optimizer: str = "adam",
                 lr: float = 1e-3, momentum: float = 0.9, l2: float = 0.0, l1: float = 0.0,
                 pos_weight: list[float] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"])
        self.model = model
        weight = torch.tensor(pos_weight, dtype=torch.float32) if pos_weight else None
        self.loss_fn = make_loss(loss, weight,
                                 rates=getattr(model, "output_kind", None) == "coverage")
        self._correlation = _PearsonSums()
        self._val_outputs: list[Tensor] = []
        self._val_labels: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def _loss(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        x, y = batch
        out = self.model(x)
        return self.loss_fn(out, y), out

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss, _ = self._loss(batch)
        if self.hparams.l1 > 0:
            l1 = sum(p.abs().sum() for p in _penalised(list(self.model.named_parameters())))
            loss = loss + self.hparams.l1 * l1
        if not torch.isfinite(loss):
            raise TrainingError(
                f"training loss became {loss.item()} at epoch {self.current_epoch}, step "
                f"{self.global_step} (lr {self.hparams.lr}); lower train.lr, check the "
                "labels for NaN or infinite values, or use loss 'bce' for 0/1 labels"
            )
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True,
                 batch_size=batch[0].shape[0])
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        loss, out = self._loss(batch)
        self.log("val_loss", loss, on_step=False, on_epoch=True, prog_bar=True,
                 batch_size=batch[0].shape[0], sync_dist=True)
        if self.hparams.loss in ("mse", "poisson", "multinomial_poisson"):
            # Regression targets can be large (tracks x bins x windows): keep running sums.
            self._correlation.update(out.detach().float(), batch[1].detach().float())
            return
        if self.hparams.loss == "categorical":
            # Keep only P(acceptor), P(donor) at labelled bases: (m, 2) per batch.
            probabilities = torch.softmax(out.detach().float(), dim=1).cpu().numpy()
            y_true, y_score = site_scores(probabilities, batch[1].detach().cpu().numpy())
            self._val_outputs.append(torch.from_numpy(y_score))
            self._val_labels.append(torch.from_numpy(y_true))
            return
        self._val_outputs.append(out.detach().float().cpu())
        self._val_labels.append(batch[1].detach().cpu())

    def on_validation_epoch_end(self) -> None:
        if self._correlation.n is not None:
            sums = self._correlation.reduce(self)
            self.log("val_pearson", _nanmean(sums.tolist()), prog_bar=True)
            self._correlation = _PearsonSums()
            return
        if not self._val_outputs:
            return
        scores = torch.cat(self._val_outputs).numpy()
        labels = torch.cat(self._val_labels).numpy()
        self._val_outputs.clear()
        self._val_labels.clear()
        if self.hparams.loss == "categorical":
            # Acceptor and donor: SpliceAI's top-k accuracy and average precision.
            topk = [top_k_accuracy(labels[:, j], scores[:, j]) for j in range(2)]
            self.log("val_topk", _nanmean(topk), prog_bar=True)
            self.log("val_auprc", _nanmean([auprc(labels[:, j], scores[:, j])
                                            for j in range(2)]), prog_bar=True)
            return
        if self.hparams.loss != "bce":
            return
        # Mean over tasks that have both classes in the validation set.
        aurocs = [auroc(labels[:, j], scores[:, j]) for j in range(labels.shape[1])]
        auprcs = [auprc(labels[:, j], scores[:, j]) for j in range(labels.shape[1])]
        self.log("val_auroc", _nanmean(aurocs), prog_bar=True)
        self.log("val_auprc", _nanmean(auprcs), prog_bar=True)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Dropout draws from torch's global generator: keep its state, so a resumed run
        # continues with the numbers an uninterrupted one would have drawn. (Data order and
        # augmentation are addressed by epoch and index; see EpochSampler.)
        checkpoint["dnalens_rng"] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            checkpoint["dnalens_rng"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("dnalens_rng")
        if not isinstance(state, dict) or not isinstance(state.get("torch"), Tensor):
            return  # written by an older dnalens: resume without the generator's state
        torch.set_rng_state(state["torch"].cpu())
        cuda = state.get("cuda")
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = self.model.parameters()
        hp = self.hparams
        if hp.optimizer == "adam":
            return torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.l2)
        if hp.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.l2)
        if hp.optimizer == "sgd":
            return torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.l2)
        raise ConfigError(f"unknown optimizer '{hp.optimizer}'; choose adam, adamw or sgd")


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else 0.0


class _PearsonSums:
    """Per-task running sums for Pearson's r over every finite (output, target) pair.

    Outputs and targets are (batch, tasks, ...) or (batch, tasks); values along the other
    axes (bins, map entries) are pooled within a task.
    """

    def __init__(self) -> None:
        self.n = None

    def update(self, out: Tensor, target: Tensor) -> None:
        out = out.reshape(out.shape[0], out.shape[1], -1).double()
        target = target.reshape(target.shape[0], target.shape[1], -1).double()
        mask = torch.isfinite(target)
        x = torch.where(mask, out, 0.0)
        y = torch.where(mask, target, 0.0)
        sums = torch.stack([mask.sum((0, 2)).double(), x.sum((0, 2)), y.sum((0, 2)),
                            (x * x).sum((0, 2)), (y * y).sum((0, 2)), (x * y).sum((0, 2))])
        self.n = sums if self.n is None else self.n + sums

    def reduce(self, module: L.LightningModule) -> Tensor:
        """r per task, summed over the processes of a distributed run first."""
        sums = self.n
        if module.trainer is not None and module.trainer.world_size > 1:
            sums = module.all_gather(sums.to(module.device)).sum(0).cpu()
        n, sx, sy, sxx, syy, sxy = sums
        cov = sxy - sx * sy / n.clamp(min=1)
        var_x = sxx - sx * sx / n.clamp(min=1)
        var_y = syy - sy * sy / n.clamp(min=1)
        return (cov / torch.sqrt(var_x * var_y)).float()
