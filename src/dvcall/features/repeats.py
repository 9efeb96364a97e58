"""Tandem repeats of the reference: how far an indel can slide and stay one haplotype."""

import numpy as np

from dvcall.encoding import N_CODE

MAX_REPEAT_UNIT = 6
MAX_LEFT_REPEAT = 200  # how far left of an anchor its repeat is followed


def repeat_span(reference_codes: np.ndarray) -> np.ndarray:
    """``(L,)``: how far right of each position an indel anchored there can slide and stay
    the same haplotype -- the length of the tandem repeat (units of 1..6 bp) that follows, or
    1 outside repeats. Reads must cover it to tell such an indel's alleles apart."""
    codes = np.asarray(reference_codes)
    length = len(codes)
    span = np.ones(length, np.int32)
    index = np.arange(length, dtype=np.int32)
    known = codes < N_CODE
    for unit in range(1, min(MAX_REPEAT_UNIT, length - 1) + 1):
        # run[j]: how many positions from j on continue the period-`unit` repeat, from the
        # next break at or after j (a reversed running minimum: no search per position)
        next_break = index.copy()
        next_break[unit:][(codes[unit:] == codes[:-unit]) & known[unit:]] = length
        run = np.minimum.accumulate(next_break[::-1])[::-1] - index
        # the run after the anchor's first unit (the last position's past the end)
        after = np.full(length, run[-1], np.int32)
        after[: length - unit - 1] = run[unit + 1 :]
        span = np.maximum(span, np.where(after >= 1, after + unit, 1))
    return span.astype(np.int64)


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
