"""Read evidence per allele: how the reads that show the reference base and the top alternative
allele at a position (another base, a deletion or an insertion anchored there) differ, and how
noisy this BAM's base calls are.

A systematic error or a mismapped read shows its alternative base with low base qualities, in
reads of low MAPQ, near the read ends, on one strand, in soft-clipped reads or in reads that
carry other mismatches too (what bcftools' BQB/MQB/RPB/SGB, GATK's rank sums and FS, and
DeepVariant's read channels look at). For the reference allele and the top alternative
separately this module gives the mean of each of those per-read quantities, and genotype
log-likelihoods whose per-base error comes from the BAM itself: the mismatch rate per base
quality at positions that do not look variant (a small BQSR on every chunk), instead of the
error rate the quality claims or a constant.

The features exist at candidate positions only (the first :func:`allele_slots` of them in
a chunk; zeros elsewhere), so their cost follows the candidates, not the bases: for each
candidate the reads that can cover it are found by binary search in start order and read in
blocks of READ_BLOCK. Two passes over all bases remain: each read's mismatch load and the
error table (on every TABLE_EVERY-th read). The caller and training compute the same
features through the same function.
"""

import jax
import jax.numpy as jnp

from dvcall.encoding import DELETION
from dvcall.features.noise import looks_like_variant, quiet_event_rate

ALLELE_FEATURE_NAMES = (
    "ref_mean_base_quality", "alt_mean_base_quality",
    "ref_mean_mapq", "alt_mean_mapq",
    "ref_read_end_distance", "alt_read_end_distance",
    "ref_soft_clipped_share", "alt_soft_clipped_share",
    "ref_mismatch_load", "alt_mismatch_load",
    "ref_forward_fraction", "alt_forward_fraction",
    "deletion_mean_mapq", "deletion_mismatch_load",
    "het_vs_hom_ref_llr", "hom_alt_vs_het_llr",
    "noise_level", "indel_noise_level",
)
NUM_ALLELE_FEATURES = len(ALLELE_FEATURE_NAMES)
# Bumped whenever one of these features changes meaning: a model trained on others is refused.
# (2: a read with an insertion anchored at the position counts for the insertion, and the
# top alternative may be a deletion or an insertion; 1 knew bases only. 3: indel_noise_level.)
ALLELE_FEATURE_SET = 3

QUALITY_BINS = 64  # Phred scores above 63 share the last bin of the error table
END_DISTANCE_CAP = 50.0  # bases from the read end past which a base counts as mid-read
# Weight of the Phred-stated rate in each quality bin's estimate, in bases: a bin with few
# bases keeps about what its quality claims.
PRIOR_BASES = 200.0
MIN_ERROR, MAX_ERROR = 1e-5, 0.75
TABLE_EVERY = 8  # the error table counts every 8th read: plenty of bases, an eighth the work
READ_BLOCK = 32  # reads looked at per candidate and loop step
SLOT_SHARE = 16  # allele features for at most 1/16 of a chunk's positions (as the caller's
# sparse classification)

# the alleles a read can show at a position: bases 0-3 (4, N, is never counted), a deletion
# (DELETION, 5) or an insertion anchored there; then the slot of reads not counted
INSERTION, UNCOUNTED = DELETION + 1, DELETION + 2
ALLELES = INSERTION + 1
# the per-base values summed per (candidate, allele)
(_ONE, _REVERSE, _QUALITY, _MAPQ, _END, _CLIPPED, _LOAD, _LOG_RIGHT, _LOG_WRONG,
 _LOG_HET) = range(10)


def allele_slots(length: int) -> int:
    """Candidate positions of a chunk of ``length`` that get allele features."""
    return max(length // SLOT_SHARE, 64)


def stated_error(quality: jax.Array) -> jax.Array:
    """The error probability a Phred score states."""
    return jnp.power(10.0, -quality.astype(jnp.float32) / 10.0)


def _reference_rows(reference: jax.Array, positions: jax.Array, width: int,
                    fill: int = 4) -> jax.Array:
    """``(R, width)`` the reference (codes; ``fill`` off the window) under each read's
    columns, by one slice per read (an elementwise gather per base cost 3x)."""
    padded = jnp.pad(reference, width, constant_values=fill)
    return jax.vmap(lambda start: jax.lax.dynamic_slice(padded, (start,), (width,)))(
        jnp.clip(positions.astype(jnp.int32) + width, 0, padded.shape[0] - width))


def read_loads(codes: jax.Array, positions: jax.Array, reference: jax.Array,
               indels: jax.Array) -> jax.Array:
    """``(R,)`` each read's mismatch load, as NM counts it: its mismatches against the
    reference plus its ``indels`` (insertions and deletions, counted on the host)."""
    rows = _reference_rows(reference, positions, codes.shape[-1])
    mismatch = (codes < 4) & (rows < 4) & (codes != rows)
    return jnp.sum(mismatch, axis=1, dtype=jnp.int32).astype(jnp.float32) + indels


def error_table(codes: jax.Array, quality: jax.Array, positions: jax.Array,
                reference: jax.Array, variant_site: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(table (QUALITY_BINS,), rate ())`` from every TABLE_EVERY-th read: per base
    quality, the observed mismatch rate against the reference at positions that do not look
    variant, shrunk towards the stated rate by PRIOR_BASES; and the overall mismatch rate."""
    codes, quality = codes[::TABLE_EVERY], quality[::TABLE_EVERY]
    positions, width = positions[::TABLE_EVERY], codes.shape[-1]
    ref_at = _reference_rows(reference, positions, width)
    variant = _reference_rows(variant_site.astype(jnp.int8), positions, width, fill=1)
    compared = (codes < 4) & (ref_at < 4) & (variant == 0)
    wrong = compared & (codes != ref_at)
    bins = jnp.minimum(quality.astype(jnp.int32), QUALITY_BINS - 1)
    flat = jnp.where(compared, bins * 2 + wrong.astype(jnp.int32), 2 * QUALITY_BINS)
    sums = jnp.zeros(2 * QUALITY_BINS, jnp.float32).at[flat.reshape(-1)].add(
        1.0, mode="drop").reshape(QUALITY_BINS, 2)
    seen, mismatched = sums.sum(-1), sums[:, 1]
    stated = stated_error(jnp.arange(QUALITY_BINS))
    table = (mismatched + PRIOR_BASES * stated) / (seen + PRIOR_BASES)
    rate = (jnp.sum(mismatched) + 1.0) / (jnp.sum(seen) + 1000.0)
    return jnp.clip(table, MIN_ERROR, MAX_ERROR), rate


def indel_error_rate(indel_reads: jax.Array, site_reads: jax.Array) -> jax.Array:
    """``()`` the chunk's indel events per read base where no indel looks real
    (:func:`dvcall.features.noise.quiet_event_rate`): how often this BAM's reads show an
    indel that is not there."""
    return quiet_event_rate(indel_reads, site_reads, jnp)


def _signed_log(x: jax.Array) -> jax.Array:
    """A log-likelihood ratio squashed to a few units, its sign and order kept."""
    return jnp.sign(x) * jnp.log1p(jnp.abs(x)) / 3.0


def _top_alternative(counts: jax.Array, ref_one_hot: jax.Array) -> jax.Array:
    """``(K, ALLELES)`` one-hot of the most-read allele other than the reference base (a base,
    a deletion or an insertion; ties to the lower slot; zeros: none) from per-allele read
    ``counts`` (K, ALLELES)."""
    other = counts * (1.0 - _as_alleles(ref_one_hot)) * (jnp.arange(ALLELES) != 4)
    return (jax.nn.one_hot(jnp.argmax(other, -1), ALLELES, dtype=jnp.float32)
            * (jnp.max(other, -1) > 0)[..., None])


def _as_alleles(base_one_hot: jax.Array) -> jax.Array:
    """``(K, 4)`` one-hot of bases as ``(K, ALLELES)``."""
    return jnp.pad(base_one_hot, ((0, 0), (0, ALLELES - 4)))


def allele_features(codes: jax.Array, quality: jax.Array, positions: jax.Array,
                    ends: jax.Array, mask: jax.Array, reverse: jax.Array, mapq: jax.Array,
                    clipped: jax.Array, indels: jax.Array, insertion_at: jax.Array,
                    reference: jax.Array | None, per_code: jax.Array, indel_reads: jax.Array,
                    index: jax.Array) -> jax.Array:
    """``(L, NUM_ALLELE_FEATURES)`` per-allele evidence at the positions ``index`` (K,)
    (entries ``>= L`` are unused slots), zeros at every other position.

    ``codes``/``quality`` are ``(R, W)`` base codes and Phred scores in reference
    coordinates, ``positions``/``ends`` each read's reference start and end on the window,
    ``mask``/``reverse``/``mapq``/``clipped``/``indels`` per read (real read, reverse strand,
    Phred MAPQ, has a soft clip, its insertions and deletions, the window position of its
    insertion's anchor or -1), ``reference`` the ``(L,)`` reference codes, ``per_code`` the
    ``(L, 6)`` plain read counts of each code, ``indel_reads`` the ``(L,)`` reads with an
    insertion or a deletion anchored at each position. An indel read's likelihood terms take
    the quality of its base before the event.
    """
    length, width = per_code.shape[0], codes.shape[-1]
    reference = (jnp.full(length, 4, jnp.int32) if reference is None
                 else jnp.asarray(reference).astype(jnp.int32))
    positions = positions.astype(jnp.int32)
    ref_one_hot = jax.nn.one_hot(reference, 4, dtype=jnp.float32)  # N: all zero
    top_alt = jnp.max(per_code[:, :4] * (1.0 - ref_one_hot), -1)
    site_reads = per_code[:, :4].sum(-1) + per_code[:, DELETION]
    variant_site = looks_like_variant(top_alt, site_reads)
    table, rate = error_table(codes, quality, positions, reference, variant_site)
    log_error = jnp.stack([jnp.log1p(-table), jnp.log(table / 3.0),
                           jnp.log(0.5 * (1.0 - table) + table / 6.0)], -1)
    load = read_loads(codes, positions, reference, indels)

    # the reads in start order (padding last): those covering p started in (p - width, p]
    start_key = jnp.where(mask > 0, positions, jnp.iinfo(jnp.int32).max)
    order = jax.lax.cond(jnp.all(start_key[1:] >= start_key[:-1]),  # the caller's: sorted
                         lambda key: jnp.arange(len(key)), jnp.argsort, start_key)
    sorted_starts = start_key[order]
    used = index < length
    at = jnp.minimum(index, length - 1).astype(jnp.int32)
    first = jnp.searchsorted(sorted_starts, at - width + 1)
    stop = jnp.where(used, jnp.searchsorted(sorted_starts, at, side="right"), first)
    span = ends - positions
    num_values = _LOG_HET + 1

    def block(step, sums):
        rank = first[:, None] + step * READ_BLOCK + jnp.arange(READ_BLOCK)[None, :]
        read = order[jnp.clip(rank, 0, len(order) - 1)]
        column = at[:, None] - positions[read]
        covers = (rank < stop[:, None]) & (column < span[read]) & (column >= 0)
        column = jnp.clip(column, 0, width - 1)
        code = codes[read, column].astype(jnp.int32)
        inserted = insertion_at[read] == at[:, None]
        allele = jnp.where(inserted, INSERTION, code)
        counted = covers & (((code >= 0) & (code < 4)) | (code == DELETION) | inserted)
        q = quality[read, column].astype(jnp.int32)
        terms = log_error[jnp.minimum(q, QUALITY_BINS - 1)]
        end_distance = jnp.minimum(jnp.minimum(column, span[read] - 1 - column),
                                   END_DISTANCE_CAP) / END_DISTANCE_CAP
        values = jnp.concatenate([jnp.stack([
            jnp.ones_like(end_distance), reverse[read], q / 40.0, mapq[read] / 60.0,
            end_distance, clipped[read],
            # the read's load without the allele it shows here (its mismatch, deletion or
            # insertion)
            load[read] - jnp.where(inserted, 1, ((code < 4) & (reference[at][:, None] < 4)
                                                 & (code != reference[at][:, None]))
                                   + (code == DELETION)),
        ], -1), terms], -1)
        slot = jnp.arange(len(index))[:, None] * (ALLELES + 1) + jnp.where(counted, allele,
                                                                           UNCOUNTED)
        return sums.at[slot.reshape(-1)].add(values.reshape(-1, num_values))

    steps = (jnp.max(stop - first) + READ_BLOCK - 1) // READ_BLOCK
    sums = jax.lax.fori_loop(0, steps, block,
                             jnp.zeros((len(index) * (ALLELES + 1), num_values)))
    sums = sums.reshape(len(index), ALLELES + 1, num_values)[:, :ALLELES]
    features = _features_of_sums(sums, ref_one_hot[at], rate,
                                 indel_error_rate(indel_reads, site_reads))
    out = jnp.zeros((length + 1, NUM_ALLELE_FEATURES), jnp.float32)
    return out.at[jnp.where(used, at, length)].set(features)[:length]


def _features_of_sums(sums: jax.Array, ref_one_hot: jax.Array, rate: jax.Array,
                      indel_rate: jax.Array) -> jax.Array:
    """``(K, NUM_ALLELE_FEATURES)`` from the per-(candidate, allele) sums of the values."""
    alt_one_hot = _top_alternative(sums[:, :, _ONE], ref_one_hot)
    ref = jnp.sum(_as_alleles(ref_one_hot)[:, :, None] * sums, 1)
    alt = jnp.sum(alt_one_hot[:, :, None] * sums, 1)

    def means(s):
        n = jnp.maximum(s[:, _ONE], 1.0)
        return [s[:, _QUALITY] / n, s[:, _MAPQ] / n, s[:, _END] / n, s[:, _CLIPPED] / n,
                jnp.log1p(s[:, _LOAD] / n) / 2.0]

    def forward_fraction(s):
        return (s[:, _ONE] - s[:, _REVERSE] + 0.5) / (s[:, _ONE] + 1.0)

    deletion = sums[:, DELETION]
    deletion_reads = jnp.maximum(deletion[:, _ONE], 1.0)
    # genotype log-likelihoods of the reads' alleles, their error rates from the table
    wrong_everywhere = jnp.sum(sums[:, :, _LOG_WRONG], -1)
    hom_ref = ref[:, _LOG_RIGHT] + wrong_everywhere - ref[:, _LOG_WRONG]
    het = (ref[:, _LOG_HET] + alt[:, _LOG_HET] + wrong_everywhere
           - ref[:, _LOG_WRONG] - alt[:, _LOG_WRONG])
    hom_alt = alt[:, _LOG_RIGHT] + wrong_everywhere - alt[:, _LOG_WRONG]
    noise = jnp.full(len(sums), jnp.clip(-jnp.log10(rate) / 4.0, 0.0, 2.0))
    indel_noise = jnp.full(len(sums), jnp.clip(-jnp.log10(indel_rate) / 4.0, 0.0, 2.0))
    columns = [value for pair in zip(means(ref), means(alt)) for value in pair] + [
        forward_fraction(ref), forward_fraction(alt),
        deletion[:, _MAPQ] / deletion_reads,
        jnp.log1p(deletion[:, _LOAD] / deletion_reads) / 2.0,
        _signed_log(het - hom_ref), _signed_log(hom_alt - het),
        noise, indel_noise,
    ]
    return jnp.stack(columns, -1)
