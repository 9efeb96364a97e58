"""Per-allele read evidence: each feature against a read-by-read count on testdata, the BAM's
error table against known errors, and the pipeline paths that must agree."""

import jax.numpy as jnp
import numpy as np
import pysam
import pytest

from dvcall.encoding import DELETION
from dvcall.operators.allele_evidence import (
    ALLELE_FEATURE_NAMES,
    END_DISTANCE_CAP,
    INSERTION,
    NUM_ALLELE_FEATURES,
    allele_slots,
    error_table,
    indel_error_rate,
)
from dvcall.operators.evidence import NUM_FEATURES, candidate_positions
from dvcall.pipelines import create_variant_calling_pipeline

COLUMN = {name: NUM_FEATURES + i for i, name in enumerate(ALLELE_FEATURE_NAMES)}


@pytest.fixture(scope="module")
def prepared(testdata):
    """testdata's 30-40 kb as `dvcall call` prepares it."""
    from dvcall.features.chunk import prepare_chunk
    from dvcall.io.alignments import AlignmentSource, ReadFilter
    from dvcall.io.regions import Chunk

    fasta = pysam.FastaFile(str(testdata / "ref.fa"))
    source = AlignmentSource(pysam.AlignmentFile(str(testdata / "reads.bam")))
    chunk = Chunk(0, fasta.references[0], 30_000, 10_000, fasta.lengths[0])
    return chunk, prepare_chunk(source, fasta, chunk, 10_000, ReadFilter(), 30.0)


@pytest.fixture(scope="module")
def features(prepared):
    _, chunk = prepared
    pipeline = create_variant_calling_pipeline(use_evidence=True, num_genotypes=3,
                                               allele_evidence=True)
    result, _, _ = pipeline.apply(chunk.data, {}, None)
    return np.asarray(result["features"])


def _read_by_read(chunk, window_start, position):
    """Per allele at one window position (a base code, DELETION, or INSERTION for a read
    whose leftmost insertion is anchored there): the reads showing it and their per-read
    values, counted one read at a time."""
    reads, data = chunk.reads, chunk.data
    ref = data["reference"]
    first_insertion = {}
    for read, anchor, is_deletion in zip(chunk.indels.read.tolist(),
                                         chunk.indels.anchor.tolist(),
                                         chunk.indels.is_deletion.tolist()):
        if not is_deletion:
            first_insertion[read] = min(anchor, first_insertion.get(read, anchor))
    indels = (np.bincount(reads.ins_read, minlength=reads.num_reads)
              + np.bincount(reads.del_read, minlength=reads.num_reads))
    clipped = np.zeros(reads.num_reads, bool)
    clipped[reads.clip_read] = True
    rows = {}
    at = window_start + position
    for r in range(reads.num_reads):
        start, end = int(reads.starts[r]), int(reads.ends[r])
        if not start <= at < end:
            continue
        col = at - start
        code = int(reads.codes[r, col])
        inserted = first_insertion.get(r) == position
        if not inserted and (code > DELETION or code == 4):
            continue
        span = end - start
        mismatches = 0
        for j in range(span):
            p = start - window_start + j
            base = int(reads.codes[r, j])
            if 0 <= p < len(ref) and base < 4 and ref[p] < 4 and base != ref[p]:
                mismatches += 1
        own = inserted or (code < 4 and ref[position] < 4 and code != ref[position]) or (
            code == DELETION)
        rows.setdefault(INSERTION if inserted else code, []).append((
            reads.quality[r, col] / 40.0, reads.mapq[r] / 60.0,
            min(col, span - 1 - col, END_DISTANCE_CAP) / END_DISTANCE_CAP,
            float(clipped[r]), mismatches + indels[r] - own, 1 - int(reads.strand[r])))
    return rows


def test_allele_features_agree_with_a_read_by_read_count(prepared, features):
    window, chunk = prepared
    ref = chunk.data["reference"]
    candidates = np.flatnonzero(np.asarray(candidate_positions(jnp.asarray(
        features[:, :NUM_FEATURES]))))
    assert 10 <= len(candidates) <= allele_slots(len(ref))
    checked, alleles_seen = 0, set()
    for position in candidates[:: max(len(candidates) // 12, 1)]:
        rows = _read_by_read(chunk, window.window_start, int(position))
        if ref[position] > 3:
            continue
        alt_counts = {c: len(v) for c, v in rows.items() if c != ref[position]}
        if not alt_counts:
            continue
        top = max(sorted(alt_counts), key=lambda c: alt_counts[c])
        alleles_seen.add(top)
        for side, code in (("ref", int(ref[position])), ("alt", top)):
            values = np.array(rows.get(code, []), np.float64).reshape(-1, 6)
            n = max(len(values), 1)
            got = {name: features[position, COLUMN[f"{side}_{name}"]] for name in (
                "mean_base_quality", "mean_mapq", "read_end_distance", "soft_clipped_share",
                "mismatch_load", "forward_fraction")}
            expected = values.sum(0) / n
            np.testing.assert_allclose(
                [got["mean_base_quality"], got["mean_mapq"], got["read_end_distance"],
                 got["soft_clipped_share"], got["mismatch_load"], got["forward_fraction"]],
                [expected[0], expected[1], expected[2], expected[3],
                 np.log1p(expected[4]) / 2.0, (values[:, 5].sum() + 0.5) / (len(values) + 1)],
                rtol=1e-5, atol=1e-5, err_msg=f"{side} allele at window position {position}")
        checked += 1
    assert checked >= 5
    assert {DELETION, INSERTION} <= alleles_seen  # testdata's indels are among those checked


def test_allele_features_are_zero_off_the_candidates(prepared, features):
    candidates = np.asarray(candidate_positions(jnp.asarray(features[:, :NUM_FEATURES])))
    assert features.shape[1] == NUM_FEATURES + NUM_ALLELE_FEATURES
    assert not features[~candidates, NUM_FEATURES:].any()
    assert np.abs(features[candidates, NUM_FEATURES:]).sum(1).min() > 0


def test_error_table_finds_the_error_rate_the_qualities_understate():
    """Reads whose Q30 bases are wrong 1 time in 100 (the quality says 1 in 1000): the table
    says about 1%; a het site's alternative bases are left out of the count."""
    rng = np.random.default_rng(0)
    length, num_reads, width = 2_000, 1_500, 100
    reference = rng.integers(0, 4, length).astype(np.int32)
    positions = rng.integers(0, length - width, num_reads).astype(np.int32)
    index = positions[:, None] + np.arange(width)[None, :]
    codes = reference[index].copy()
    wrong = rng.random(codes.shape) < 0.01
    codes[wrong] = (codes[wrong] + rng.integers(1, 4, wrong.sum())) % 4
    het = 1_000
    carriers = (index == het) & (rng.random(codes.shape) < 0.5)
    codes[carriers] = (reference[het] + 1) % 4
    quality = np.full(codes.shape, 30, np.uint8)
    site = np.zeros(length, bool)
    site[het] = True
    table, rate = error_table(jnp.asarray(codes, jnp.int8), jnp.asarray(quality),
                              jnp.asarray(positions), jnp.asarray(reference), jnp.asarray(site))
    assert 0.008 < float(table[30]) < 0.012
    assert 0.008 < float(rate) < 0.012
    # a bin with no bases keeps the rate its quality states
    assert float(table[20]) == pytest.approx(0.01, rel=1e-4)


def test_indel_error_rate_counts_lone_indel_reads_not_variants():
    """1,000 positions at 20x: 5 lone indel reads and a het indel (9 of 20 reads); the rate
    is the lone reads over all read bases (with its one-event floor)."""
    site_reads = np.full(1_000, 20.0, np.float32)
    indel_reads = np.zeros(1_000, np.float32)
    indel_reads[[10, 200, 300, 301, 900]] = 1.0
    indel_reads[500] = 9.0
    rate = float(indel_error_rate(jnp.asarray(indel_reads), jnp.asarray(site_reads)))
    assert rate == pytest.approx((5 + 1) / (20_000 + 1e5))
    indel_reads[[600, 601]] = 2.0  # 2 reads in 20 is 10%: still noise
    more = float(indel_error_rate(jnp.asarray(indel_reads), jnp.asarray(site_reads)))
    assert more == pytest.approx((9 + 1) / (20_000 + 1e5))


def test_sparse_predict_equals_dense_apply_with_allele_evidence(prepared):
    """The caller's sparse path and training's dense apply see the same allele evidence."""
    _, chunk = prepared
    pipeline = create_variant_calling_pipeline(use_evidence=True, num_genotypes=3,
                                               allele_evidence=True, classifier_extra_layers=1)
    dense, _, _ = pipeline.apply(chunk.data, {}, None)
    candidates = np.asarray(candidate_positions(dense["features"][:, :NUM_FEATURES]))
    length = len(chunk.data["reference"])
    probs, genotypes = pipeline.predict(chunk.data, max_candidates=max(length // 16, 64))
    np.testing.assert_allclose(np.asarray(probs)[candidates],
                               np.asarray(dense["probabilities"])[candidates], atol=1e-5)
    np.testing.assert_allclose(np.asarray(genotypes)[candidates],
                               np.asarray(dense["genotype_probabilities"])[candidates],
                               atol=1e-5)


def test_unsorted_reads_give_the_same_allele_evidence(prepared, features):
    """Seed-style data need not come in start order: the reads are sorted inside. (The
    error table samples every 8th read, so the likelihoods built on it move a little.)"""
    _, chunk = prepared
    order = np.random.default_rng(3).permutation(chunk.reads.num_reads)
    shuffled = dict(chunk.data)
    for key in ("reads", "quality", "positions", "strand", "mapping_quality", "read_mask",
                "soft_clipped", "read_indels", "read_insertion"):
        value = np.asarray(chunk.data[key]).copy()
        value[:len(order)] = value[order]
        shuffled[key] = value
    pipeline = create_variant_calling_pipeline(use_evidence=True, num_genotypes=3,
                                               allele_evidence=True)
    result, _, _ = pipeline.apply(shuffled, {}, None)
    got = np.asarray(result["features"])
    from_table = [COLUMN[name] for name in ("het_vs_hom_ref_llr", "hom_alt_vs_het_llr",
                                            "noise_level")]
    exact = np.setdiff1d(np.arange(got.shape[1]), from_table)
    np.testing.assert_allclose(got[:, exact], features[:, exact], atol=1e-5)
    np.testing.assert_allclose(got[:, from_table], features[:, from_table], atol=0.1)
