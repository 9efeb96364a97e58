"""Tandem repeats of the reference: how far an indel can slide and stay one haplotype."""

import numpy as np

from dvcall.encoding import N_CODE

MAX_REPEAT_UNIT = 6
MAX_LEFT_REPEAT = 200  # how far left of an anchor its repeat is followed


def repeat_span(reference_codes: np.ndarray) -> np.ndarray:
    """``(L,)``: how far right of each position an indel anchored there can slide and stay
    the same haplotype -- the length of the tandem repeat (units of 1..6 bp) that follows, or
    1 outside repeats. Reads must cover it to tell such an indel's alleles apart."""
    length = len(reference_codes)
    span = np.ones(length, np.int32)
    index = np.arange(length)
    for unit in range(1, MAX_REPEAT_UNIT + 1):
        same = np.zeros(length, bool)
        same[unit:] = (reference_codes[unit:] == reference_codes[:-unit]) & (
            reference_codes[unit:] < N_CODE)
        # run[j]: how many positions from j on continue the period-`unit` repeat, from the
        # next break at or after j (a reversed running minimum: no search per position)
        next_break = np.where(same, length, index)
        next_break = np.minimum.accumulate(next_break[::-1])[::-1]
        run = next_break - index
        after = np.minimum(index + 1 + unit, length - 1)
        extent = unit + run[after]
        span = np.maximum(span, np.where(run[after] >= 1, extent, 1))
    return span


def repeat_start(ref_codes: np.ndarray, anchor: int) -> int:
    """First base of the tandem repeat (units of 1..MAX_REPEAT_UNIT) that the anchor base
    lies in (the anchor itself outside repeats). A deletion of T from ATTAAA units is
    anchored inside the repeat; compared over less flank than that, reads of another length
    of the repeat match a shifted haplotype perfectly."""
    start = anchor
    window = ref_codes[max(anchor - MAX_LEFT_REPEAT, 0) : anchor + 1]
    for unit in range(1, MAX_REPEAT_UNIT + 1):
        if len(window) <= unit:
            break
        same = (window[unit:] == window[:-unit]) & (window[unit:] < N_CODE)
        breaks = np.flatnonzero(~same)
        run = len(same) - 1 - breaks[-1] if len(breaks) else len(same)
        if run:
            start = min(start, anchor - run - unit + 1)
    return start
