"""Model outputs for the reference and alternative windows of a batch of variants.

Two ways give the same numbers (to float rounding, ~1e-6 in float32):

* **full**: both windows of every variant go through the model.
* **fast**: each distinct reference window goes through the model once, layer by layer,
  keeping its activations (:class:`dnalens.apply.fastpath.IncrementalBatch`); the
  alternative allele of a substitution (SNV or MNV) is then computed by recomputing only
  the part of each layer it can reach, which for a Basset-size model at 1 kb costs about a
  thirtieth of a forward pass. An indel shifts the flank, so its alternative window takes
  a full pass; its reference still comes from the shared pass. Alleles of one site
  (a split multi-allelic record) share their reference window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from dnalens.apply.fastpath import IncrementalBatch, UnsupportedModelError, fast_path_plan
from dnalens.apply.predict import predict
from dnalens.errors import ConfigError
from dnalens.io.variants import VariantRecord
from dnalens.sequence.encoding import one_hot, reverse_complement

__all__ = ["PairScorer"]

# Reference windows whose activations are held at once by the fast path: bounds memory
# (a Basset-size model at 1 kb keeps ~3 MB per window) without starving the convolutions.
_FAST_CHUNK = 64


class PairScorer:
    """Predictions of the ref and alt windows of batches of variants.

    Parameters
    ----------
    model : nn.Module
        (batch, 4, L) -> (batch, n_tasks), or (batch, n_tasks, bins) (bins are averaged; the
        fast path needs (batch, n_tasks)).
    device : torch.device
    probabilities : bool
        Apply a sigmoid to the outputs.
    both_strands : bool
        Average with the predictions of the reverse-complemented windows.
    fast : bool or "auto"
        ``"auto"``: the fast path when the model supports it (see
        :func:`dnalens.apply.fastpath.fast_path_support`) and its layer-by-layer output
        matches ``model(x)`` on the first batch, else full passes; ``True``: raise
        ConfigError when it cannot be used; ``False``: full passes.
    batch_size : int
        Windows per forward pass on the full path.

    Attributes
    ----------
    uses_fast_path : bool or None
        Decided on the first batch; None before.
    """

    def __init__(self, model: nn.Module, *, device: torch.device, probabilities: bool,
                 both_strands: bool, fast: bool | str = "auto", batch_size: int = 256) -> None:
        if not (isinstance(fast, bool) or fast == "auto"):
            raise ConfigError(f"score_variants: fast must be True, False or 'auto'; got {fast!r}")
        self.model = model.to(device).eval()
        self.device = device
        self.probabilities = probabilities
        self.both_strands = both_strands
        self.batch_size = batch_size
        self.fast = fast
        self.plan = None
        self.uses_fast_path: bool | None = None
        if fast is not False:
            try:
                self.plan = fast_path_plan(self.model)
            except UnsupportedModelError as err:
                self._refuse(f"{type(model).__name__} is not supported by the fast path: {err}")
        param = next(iter(self.model.parameters()), None)
        self.dtype = param.dtype if param is not None and param.is_floating_point() \
            else torch.float32

    def _refuse(self, why: str) -> None:
        if self.fast is True:
            raise ConfigError(f"score_variants: fast=True, but {why}; use fast='auto' or "
                              "fast=False")
        self.plan = None
        self.uses_fast_path = False

    def __call__(self, records: Sequence[VariantRecord], ref_seqs: Sequence[str],
                 alt_seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ref and alt predictions, each (n, n_tasks) float32, for windows of equal length."""
        if self.plan is not None:
            scores = self._fast(records, ref_seqs, alt_seqs)
            if scores is not None:
                return scores
        return self._full(list(ref_seqs), list(alt_seqs))

    # -- full passes ----------------------------------------------------------------------

    def _full(self, ref_seqs: list[str], alt_seqs: list[str]) -> tuple[np.ndarray, np.ndarray]:
        x = one_hot(ref_seqs + alt_seqs)
        scores = _reduce_bins(self._predict(x))
        if self.both_strands:
            scores = (scores + _reduce_bins(self._predict(reverse_complement(x)))) / 2
        n = len(ref_seqs)
        return scores[:n], scores[n:]

    def _predict(self, x: Tensor) -> np.ndarray:
        return predict(self.model, x, batch_size=self.batch_size, device=self.device,
                       probabilities=self.probabilities)

    # -- fast path ------------------------------------------------------------------------

    @torch.inference_mode()
    def _fast(self, records: Sequence[VariantRecord], ref_seqs: Sequence[str],
              alt_seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        length = len(ref_seqs[0])
        # One reference window per site: split alleles of one record share it.
        site_of: dict[tuple[str, int, int], int] = {}
        sites = [site_of.setdefault((r.chrom, r.pos0, len(r.ref)), len(site_of))
                 for r in records]
        unique = [""] * len(site_of)
        for i, s in enumerate(sites):
            unique[s] = ref_seqs[i]
        x = one_hot(unique).to(self.device, self.dtype)
        # A substitution sits at offset length // 2 - len(ref) // 2 of its windows (see
        # variant_windows); an indel, or a REF longer than the window, takes a full pass.
        subs = [i for i, r in enumerate(records)
                if len(r.ref) == len(r.alt) and len(r.ref) // 2 <= length // 2
                and length // 2 - len(r.ref) // 2 + len(r.ref) <= length]
        other = sorted(set(range(len(records))) - set(subs))
        site_index = torch.as_tensor(sites, dtype=torch.long, device=self.device)
        strands = [False, True] if self.both_strands else [False]
        total_ref, total_alt = 0.0, 0.0
        for rc in strands:
            xs = x.flip(1, 2) if rc else x
            ref_out, alt_out = self._fast_strand(xs, records, subs, site_index, length, rc)
            if ref_out is None:
                return None
            if other:
                alt_x = one_hot([alt_seqs[i] for i in other]).to(self.device, self.dtype)
                alt_out[other] = self.model(alt_x.flip(1, 2) if rc else alt_x).to(alt_out.dtype)
            total_ref = total_ref + self._transform(ref_out[site_index])
            total_alt = total_alt + self._transform(alt_out)
        n = len(strands)
        return (total_ref / n).cpu().numpy(), (total_alt / n).cpu().numpy()

    def _fast_strand(self, x: Tensor, records: Sequence[VariantRecord], subs: list[int],
                     site_index: Tensor, length: int, rc: bool
                     ) -> tuple[Tensor | None, Tensor | None]:
        """Reference outputs per site and alt outputs of the substitutions, one strand."""
        ref_parts, alt_out = [], None
        by_width: dict[int, list[int]] = {}
        for i in subs:
            by_width.setdefault(len(records[i].ref), []).append(i)
        for first in range(0, x.shape[0], _FAST_CHUNK):
            chunk = x[first : first + _FAST_CHUNK]
            batch = IncrementalBatch(self.plan, chunk)
            if self.uses_fast_path is None:
                out = self.model(chunk)
                if not batch.matches(out):
                    self._refuse(f"{type(self.model).__name__}.forward is not head(trunk(x)) "
                                 "(the layer-by-layer output differs from model(x))")
                    return None, None
                self.uses_fast_path = True
            ref_parts.append(batch.out_ref)
            if alt_out is None:
                alt_out = torch.zeros(len(records), batch.out_ref.shape[1],
                                      dtype=batch.out_ref.dtype, device=self.device)
            for width, rows in by_width.items():
                rows_t = torch.as_tensor(rows, dtype=torch.long, device=self.device)
                sites = site_index[rows_t]
                inside = (sites >= first) & (sites < first + chunk.shape[0])
                if not bool(inside.any()):
                    continue
                rows_t, sites = rows_t[inside], sites[inside] - first
                alleles = [records[i].alt for i in rows_t.tolist()]
                columns = one_hot(alleles).to(self.device, self.dtype)
                offset = length // 2 - width // 2
                if rc:  # the allele read on the other strand, at the mirrored offset
                    columns, offset = columns.flip(1, 2), length - offset - width
                positions = torch.full_like(sites, offset)
                alt_out[rows_t] = batch.outputs(sites, positions, columns)
        return torch.cat(ref_parts), alt_out

    def _transform(self, out: Tensor) -> Tensor:
        out = out.float()
        return torch.sigmoid(out) if self.probabilities else out


def _reduce_bins(scores: np.ndarray) -> np.ndarray:
    """(n, tasks) as is; (n, tasks, bins) averaged over bins."""
    return scores.mean(axis=-1) if scores.ndim == 3 else scores
