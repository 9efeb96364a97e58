"""How noisy a BAM's reads are, measured where nothing looks like a variant: the positions
left once those with VARIANT_MIN_READS reads and VARIANT_MIN_SHARE of the depth showing one
alternative are set aside. The host's measures (clean-base mismatches, indel noise) and the
model's error table (:mod:`dvcall.operators.allele_evidence`) share these bounds and this
arithmetic; ``xp`` is numpy on the host and ``jax.numpy`` inside the model."""

import numpy as np

from dvcall.features.indels import IndelEvidence
from dvcall.features.projection import ProjectedReads

# A position looks like a variant from this many reads and this share of its depth showing
# one alternative: a het at low depth, not noise.
VARIANT_MIN_READS, VARIANT_MIN_SHARE = 2, 0.2
# Before any event is seen a chunk counts as one event in this many read bases (a quiet
# sequencer's indel rate), so a chunk of few reads does not look noiseless or noisy.
INDEL_PRIOR_BASES = 1e5


def looks_like_variant(events, depth):
    """Elementwise: ``events`` reads of one alternative out of ``depth`` make a variant."""
    return (events >= VARIANT_MIN_READS) & (events >= VARIANT_MIN_SHARE * depth)


def quiet_events(events, depth, xp=np):
    """``(events, read bases)`` summed over the positions that do not look like a variant."""
    return xp.sum(xp.where(looks_like_variant(events, depth), 0.0, events)), xp.sum(depth)


def event_rate(events, bases):
    """Events per read base, with one event in INDEL_PRIOR_BASES counted first."""
    return (events + 1.0) / (bases + INDEL_PRIOR_BASES)


def quiet_event_rate(events, depth, xp=np):
    """Events per read base over the positions that do not look like a variant."""
    return event_rate(*quiet_events(events, depth, xp))


def indel_noise_events(reads: ProjectedReads, evidence: IndelEvidence, window_start: int,
                       length: int) -> tuple[float, float]:
    """``(indel events, read bases)`` of a chunk where no indel looks real: every read's
    insertions and deletions at their normalised anchors, each read counted over its aligned
    span."""
    inside = (evidence.anchor >= 0) & (evidence.anchor < length)
    events = np.bincount(evidence.anchor[inside], minlength=length)[:length]
    lo = np.clip(reads.starts - window_start, 0, length)
    hi = np.clip(reads.ends - window_start, 0, length)
    steps = np.bincount(lo, minlength=length + 1) - np.bincount(hi, minlength=length + 1)
    quiet, bases = quiet_events(events, np.cumsum(steps)[:length])
    return float(quiet), float(bases)


def indel_noise_rate(reads: ProjectedReads, evidence: IndelEvidence, window_start: int,
                     length: int) -> float:
    """The chunk's indel events per read base where no indel looks real: how often this
    BAM's reads show an indel that is not there."""
    return float(event_rate(*indel_noise_events(reads, evidence, window_start, length)))
