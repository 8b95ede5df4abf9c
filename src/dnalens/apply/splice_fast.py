"""SpliceAI predictions for windows that differ from one another only locally.

A variant's alternative window equals its reference window except for the allele (a few
bases near the middle; right of it, the same bases shifted by ``len(ALT) - len(REF)``). With
valid convolutions, a layer whose positions see ``R`` input bases on each side (``R`` grows
from 0 at the stem to ``context / 2`` at the last unit) differs between the two windows only
within ``R`` bases of the allele; everywhere else its alt activations are the ref ones, at the
same position left of the allele and shifted right of it. So the reference windows ("bases")
run through the whole network, and each alt window ("patch") computes, per layer, only its
changed region, reading the context of each convolution from the base's activations of the
layer below. The residual stream, the intermediate of each residual unit and the skip sum
are patched alike, a batch of variants at once (one common width per layer; past a window's
end the values are unused filler). For the published model (context 10,000, D = 50) a patch
costs about a sixth of a full window. Identical windows (several ALT alleles or
transcripts sharing a reference window) run once, and reference windows that overlap an
earlier one with identical bases (nearby variants of one transcript) are merged into one
longer base, each read back at its offset.

The numbers are those of the full model: each patched position is computed by the same
convolutions from the same inputs (to rounding: float32 sums may be ordered differently).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from dnalens.sequence.encoding import one_hot

__all__: list[str] = []  # private helpers of dnalens.apply.splicing


@dataclass
class _Plan:
    """Which windows run whole (bases) and which as patches on a base."""

    bases: list[str] = field(default_factory=list)
    # per patch: base row, common prefix p, changed bases in the base / in the patch, sequence
    patch_base: list[int] = field(default_factory=list)
    prefix: list[int] = field(default_factory=list)
    ref_len: list[int] = field(default_factory=list)
    alt_len: list[int] = field(default_factory=list)
    patches: list[str] = field(default_factory=list)
    # per patch: where its reference window starts in its base
    offset: list[int] = field(default_factory=list)
    # per input window: ("b", base row, start in the base) or ("p", patch row, 0)
    source: list[tuple[str, int, int]] = field(default_factory=list)


def _common_ends(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Lengths of the common prefix and (not overlapping it) common suffix of two arrays."""
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    p = int(differ[0]) if len(differ) else n
    differ = np.flatnonzero(a[len(a) - n :][::-1] != b[len(b) - n :][::-1])
    s = int(differ[0]) if len(differ) else n
    return p, min(s, n - p)


def plan_windows(seqs: list[str], context: int) -> _Plan:
    """Group windows (already in model orientation): the first of those sharing their first
    and last ``context // 4 + 1`` bases is a base, the others patches on it when they differ
    from it in fewer than ``context // 2`` bases; identical windows run once."""
    plan = _Plan()
    k = context // 4 + 1
    groups: dict[tuple[str, str], int] = {}
    arrays: list[np.ndarray] = []
    seen: dict[str, tuple[str, int]] = {}
    for seq in seqs:
        if seq in seen:
            plan.source.append(seen[seq])
            continue
        key = (seq[:k], seq[-k:])
        row = groups.get(key)
        if row is not None:
            a = np.frombuffer(seq.encode(), np.uint8)
            p, s = _common_ends(arrays[row], a)
            ref_len, alt_len = len(arrays[row]) - p - s, len(a) - p - s
            if max(ref_len, alt_len) < context // 2:
                plan.source.append(("p", len(plan.patches), 0))
                plan.patch_base.append(row)
                plan.prefix.append(p)
                plan.ref_len.append(ref_len)
                plan.alt_len.append(alt_len)
                plan.patches.append(seq)
                seen[seq] = plan.source[-1]
                continue
        if row is None:
            groups[key] = len(plan.bases)
        plan.source.append(("b", len(plan.bases), 0))
        seen[seq] = plan.source[-1]
        plan.bases.append(seq)
        arrays.append(np.frombuffer(seq.encode(), np.uint8))
    return _merge_overlaps(plan)


_PROBE = 32
_MAX_EXTEND = 4000  # a window extends a base by at most this much (a window costs ~6,500)
_MAX_BASE = 40_000


def _merge_overlaps(plan: _Plan) -> _Plan:
    """Windows that overlap an earlier base with identical bases (nearby variants of one
    transcript) become slices of one longer base, which runs once: a position's activations
    depend only on the bases it sees, the same in both."""
    unions: list[str] = []
    where: list[tuple[int, int]] = []  # per old base: (union, start in it)
    members: list[list[int]] = []
    for seq in plan.bases:
        placed = None
        # probes at the start, middle and end: one lies in the overlap when there is one
        for at in (0, len(seq) // 2, len(seq) - _PROBE):
            probe = seq[at : at + _PROBE]
            if len(probe) < _PROBE or "N" in probe or placed is not None:
                continue
            for u, union in enumerate(unions):
                j = union.find(probe)
                while j >= 0 and placed is None:
                    o = j - at
                    lo, hi = max(o, 0), min(o + len(seq), len(union))
                    grow = max(-o, 0) + max(o + len(seq) - len(union), 0)
                    if grow <= _MAX_EXTEND and len(union) + grow <= _MAX_BASE \
                            and union[lo:hi] == seq[lo - o : hi - o]:
                        placed = (u, o)
                    j = union.find(probe, j + 1)
                if placed is not None:
                    break
        if placed is None:
            where.append((len(unions), 0))
            members.append([len(where) - 1])
            unions.append(seq)
            continue
        u, o = placed
        union = unions[u]
        if o < 0:
            union = seq[:-o] + union
            for m in members[u]:
                where[m] = (u, where[m][1] - o)
            o = 0
        if o + len(seq) > len(union):
            union = union + seq[len(union) - o :]
        unions[u] = union
        where.append((u, o))
        members[u].append(len(where) - 1)
    plan.offset = [where[b][1] for b in plan.patch_base]
    plan.patch_base = [where[b][0] for b in plan.patch_base]
    plan.source = [("b", *where[row]) if kind == "b" else (kind, row, o)
                   for kind, row, o in plan.source]
    plan.bases = unions
    return plan


_CHUNK = 8  # base windows per pass: larger batches run slower on CPU (cache)


def _encode(seqs: list[str], length: int) -> Tensor:
    return one_hot([s[:length] + "N" * (length - len(s[:length])) for s in seqs])


class _Patches:
    """Geometry of the patches of one batch, shared by the members of an ensemble.

    Coordinates are window positions (0 .. len - 1). A layer that sees ``R`` bases on each
    side holds position ``q`` at index ``q - R`` (valid convolutions); a patch at that layer
    covers ``[start, start + width)`` with one width for the batch.
    """

    def __init__(self, plan: _Plan) -> None:
        self.base = plan.patch_base
        self.offset = plan.offset
        self.prefix = plan.prefix
        self.alt_len = plan.alt_len
        self.shift = [a - r for a, r in zip(plan.alt_len, plan.ref_len, strict=True)]
        self.length = [len(s) for s in plan.patches]
        self.cache: dict[tuple, list] = {}

    def region(self, reach: int) -> tuple[list[int], int]:
        """Start per patch and common width of the changed positions at a layer that sees
        ``reach`` bases on each side (inside the valid range, at least 1 wide)."""
        start = [max(p - reach, reach) for p in self.prefix]
        end = [min(p + m + reach, n - reach)
               for p, m, n in zip(self.prefix, self.alt_len, self.length, strict=True)]
        return start, max(1, max(e - s for s, e in zip(start, end, strict=True)))

    def gather(self, base: Tensor, base_reach: int, patch: Tensor, patch_start: list[int],
               start: list[int], width: int, key: tuple) -> Tensor:
        """(patches, C, width): each patch's layer at ``[start, start + width)``, from its own
        patch where that covers the position, else from its base (shifted right of the
        allele); zeros past the base's end (positions no kept output reads)."""
        pieces = self.cache.get(key)
        if pieces is None:
            pieces = self.cache[key] = self._pieces(base.shape[-1], base_reach,
                                                    patch.shape[-1], patch_start, start, width)
        rows = []
        for i, parts in enumerate(pieces):
            got = []
            for source, lo, hi, pad in parts:
                if source == "b":
                    got.append(base[self.base[i], :, lo:hi])
                elif source == "p":
                    got.append(patch[i, :, lo:hi])
                else:
                    got.append(base.new_zeros(base.shape[1], pad))
            rows.append(got[0] if len(got) == 1 else torch.cat(got, dim=1))
        return torch.stack(rows)

    def _pieces(self, base_len: int, base_reach: int, patch_len: int, patch_start: list[int],
                start: list[int], width: int) -> list[list[tuple[str, int, int, int]]]:
        out = []
        for i, (s, ps) in enumerate(zip(start, patch_start, strict=True)):
            end, base_reach_i = s + width, base_reach - self.offset[i]
            left = min(max(ps, s), end)
            middle = min(max(ps + patch_len, left), end)
            parts = []
            if left > s:
                parts.append(("b", s - base_reach_i, left - base_reach_i, 0))
            if middle > left:
                parts.append(("p", left - ps, middle - ps, 0))
            if end > middle:
                lo = middle - self.shift[i] - base_reach_i
                hi = min(end - self.shift[i] - base_reach_i, base_len)
                if hi > lo:
                    parts.append(("b", lo, hi, 0))
                if end - middle > max(hi - lo, 0):
                    parts.append(("z", 0, 0, end - middle - max(hi - lo, 0)))
            out.append(parts)
        return out


def _folded(member: nn.Module) -> list[tuple[Tensor, ...]]:
    """Per residual unit: bn1 as scale and shift, conv1 with bn2 folded in, conv2."""
    out = []
    for unit in member.trunk.units:
        affine = []
        for bn in (unit.bn1, unit.bn2):
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            affine.append((scale, bn.bias - bn.running_mean * scale))
        (s1, t1), (s2, t2) = affine
        w1 = unit.conv1.weight * s2[:, None, None]
        b1 = unit.conv1.bias * s2 + t2
        out.append((s1[:, None], t1[:, None], w1, b1, unit.conv2.weight, unit.conv2.bias))
    return out


def _member_probs(member: nn.Module, xb: Tensor, plan: _Plan, geo: _Patches | None,
                  context: int) -> tuple[Tensor, Tensor | None]:
    """Softmax outputs (bases (n, 3, L), patches (m, 3, L')) of one SpliceAI model."""
    trunk = member.trunk
    conv = torch.nn.functional.conv1d
    hb = trunk.stem(xb)
    sb = trunk.skip(hb)
    hp = sp = hp_start = sp_start = None
    if geo is not None:
        hp_start, width = geo.region(0)
        xp = _encode([s[a:] for s, a in zip(plan.patches, hp_start, strict=True)], width)
        hp = trunk.stem(xp.to(xb.device, xb.dtype))
        sp, sp_start = trunk.skip(hp), hp_start
    taps = iter(trunk.taps)
    reach = skip_reach = trimmed = 0
    for i, (unit, (s1, t1, w1, b1, w2, b2)) in enumerate(zip(trunk.units, _folded(member),
                                                              strict=True)):
        half, d = unit.trim // 2, unit.conv1.dilation[0]
        cb = conv(torch.addcmul(t1, hb, s1).relu_(), w1, b1, dilation=d)
        if geo is not None:
            c_start, c_width = geo.region(reach + half)
            g = geo.gather(hb, reach, hp, hp_start, [c - half for c in c_start],
                           c_width + 2 * half, ("c1", i))
            cp = conv(torch.addcmul(t1, g, s1).relu_(), w1, b1, dilation=d)
            h_start, h_width = geo.region(reach + 2 * half)
            g = geo.gather(cb, reach + half, cp, c_start, [h - half for h in h_start],
                           h_width + 2 * half, ("c2", i))
            hp = geo.gather(hb, reach, hp, hp_start, h_start, h_width, ("h", i)) \
                + conv(g.relu_(), w2, b2, dilation=d)
            hp_start = h_start
        hb = hb[..., unit.trim : hb.shape[-1] - unit.trim] + conv(cb.relu_(), w2, b2, dilation=d)
        reach += unit.trim
        trimmed += unit.trim
        if i in trunk.tap_after:
            tap = next(taps)
            if geo is not None:
                sp = geo.gather(sb, skip_reach, sp, sp_start, hp_start, hp.shape[-1],
                                ("s", i)) + tap(hp)
                sp_start = hp_start
            sb = sb[..., trimmed : sb.shape[-1] - trimmed] + tap(hb)
            skip_reach, trimmed = reach, 0
    probs_b = torch.softmax(member.head(sb), dim=1)
    if geo is None:
        return probs_b, None
    width = max(len(s) for s in plan.patches) - context
    final = geo.gather(sb, skip_reach, sp, sp_start, [context // 2] * len(plan.patches), width,
                       ("out",))
    return probs_b, torch.softmax(member.head(final), dim=1)


def _chunks(plan: _Plan, size: int) -> list[tuple[_Plan, list[int], list[int]]]:
    """Sub-plans of at most ``size`` bases, each with its patches: (plan, base rows, patch
    rows) of the whole plan."""
    out = []
    for first in range(0, len(plan.bases), size):
        rows = list(range(first, min(first + size, len(plan.bases))))
        sub = _Plan(bases=[plan.bases[r] for r in rows])
        patches = [k for k, b in enumerate(plan.patch_base) if first <= b < first + size]
        for k in patches:
            sub.patch_base.append(plan.patch_base[k] - first)
            sub.prefix.append(plan.prefix[k])
            sub.ref_len.append(plan.ref_len[k])
            sub.alt_len.append(plan.alt_len[k])
            sub.offset.append(plan.offset[k])
            sub.patches.append(plan.patches[k])
        out.append((sub, rows, patches))
    return out


def predict_oriented(members: list[nn.Module], seqs: list[str], context: int,
                     device: torch.device, chunk: int = _CHUNK) -> list[np.ndarray]:
    """Mean softmax over ``members`` (SpliceAI models of one ``context``) for windows in model
    orientation: one (3, len - context) array per window (the members' dtype), in order."""
    plan = plan_windows(seqs, context)
    dtype = next(members[0].parameters()).dtype
    base_out: list[np.ndarray | None] = [None] * len(plan.bases)
    patch_out: list[np.ndarray | None] = [None] * len(plan.patches)
    for sub, base_rows, patch_rows in _chunks(plan, chunk):
        xb = _encode(sub.bases, max(len(s) for s in sub.bases)).to(device, dtype)
        geo = _Patches(sub) if sub.patches else None
        probs_b = probs_p = None
        for member in members:
            pb, pp = _member_probs(member, xb, sub, geo, context)
            probs_b = pb if probs_b is None else probs_b + pb
            if pp is not None:
                probs_p = pp if probs_p is None else probs_p + pp
        for row, probs in zip(base_rows, (probs_b / len(members)).cpu().numpy(), strict=True):
            base_out[row] = probs
        if probs_p is not None:
            for row, probs in zip(patch_rows, (probs_p / len(members)).cpu().numpy(),
                                  strict=True):
                patch_out[row] = probs
    out = []
    for seq, (kind, row, start) in zip(seqs, plan.source, strict=True):
        probs = base_out[row] if kind == "b" else patch_out[row]
        out.append(probs[:, start : start + len(seq) - context])
    return out
