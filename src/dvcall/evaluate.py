"""Score calls against a truth VCF: normalise both sides (``bcftools norm``: left-align, trim,
split multi-allelics, decompose MNPs and complex records into SNPs and indels), then match
alleles by (contig, POS, REF, ALT), SNPs and indels apart.

Records that do not match one to one are compared again as haplotypes, as vcfeval does: nearby
variants of both files are grouped into clusters, and a cluster whose calls spell the same
sequences as its truth variants counts every variant in it as found. Two indels in a repeat can
describe one haplotype in several ways (``A -> ACAC`` + ``ACAC -> A`` 20 bp on is a shifted
repeat unit), and no normalisation of single records finds that. A cluster reaches along the
repeat an indel lies in (up to MAX_SLIDE bases past it), so the records at both ends of a long
repeat meet, as on vcfeval's path through a whole region.

Allele-only figures count a call as a true positive when its alleles are in the truth (each
variant applied to one haplotype, vcfeval's ``--squash-ploidy``); the genotype-aware figures
also require the genotypes (unphased: some assignment of the hets to the two haplotypes gives
the same pair of sequences), as vcfeval does by default. Precision counts calls, recall counts
truth variants, so a cluster matched as 2 calls against 3 truth records is 2 and 3 TPs.
"""

import json
import tempfile
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools

from dvcall.chunks import InputError, Region, open_fasta, read_bed, repeat_span
from dvcall.reader import BASE_CODE


def _normalized_alleles(path: Path, ref: Path, regions: list[Region] | None,
                        pass_only: bool) -> dict[tuple, tuple]:
    """{(contig, pos, ref, alt): genotype-key} after splitting and left-normalising."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "norm.vcf"
        try:
            pysam.bcftools.norm("-f", str(ref), "-a", "--atom-overlaps", ".", "-m", "-any",
                                "-c", "w", "-o", str(out),
                                str(path), catch_stdout=False)
        except pysam.utils.SamtoolsError as exc:
            raise InputError(f"{path}: bcftools norm failed ({str(exc).strip()[:200]})") from None
        alleles = {}
        with pysam.VariantFile(str(out)) as vf:
            for rec in vf:
                if pass_only and rec.filter.keys() and "PASS" not in rec.filter.keys():
                    continue
                if regions is not None and not any(
                    r.contig == rec.contig and r.start <= rec.pos - 1 < r.end for r in regions
                ):
                    continue
                alt = rec.alts[0] if rec.alts else None
                if alt is None or alt.startswith("<") or alt == "*":
                    continue
                sample = next(iter(rec.samples.values())) if rec.samples else None
                gt = sample.get("GT") if sample is not None else None
                if gt is None or all(a in (0, None) for a in gt):
                    if gt is not None:
                        continue
                    gt = (0, 1)
                # after -m -any the split ALT is allele 1: a het with another ALT reads (1, 0)
                zygosity = "hom" if all(a not in (0, None) for a in gt) else "het"
                alleles[(rec.contig, rec.pos, rec.ref, alt)] = (zygosity, rec.qual)
    return alleles


def evaluate(calls: Path, truth: Path, ref: Path, bed: Path | None = None,
             all_records: bool = False) -> dict:
    fasta = open_fasta(ref)
    lengths = dict(zip(fasta.references, fasta.lengths))
    regions = read_bed(bed, lengths) if bed else None
    called = _normalized_alleles(calls, ref, regions, pass_only=not all_records)
    expected = _normalized_alleles(truth, ref, regions, pass_only=True)
    clusters = list(_clusters(called, expected, fasta))  # the same for both views
    found = {view: _match(called, expected, fasta, genotyped=view == "genotype",
                          clusters=clusters)
             for view in ("allele", "genotype")}
    # records that spell the truth's two haplotypes have its alleles too, even where the
    # allele view cannot put them all on one haplotype (overlapping het deletions)
    found["allele"] = tuple(a | g for a, g in zip(found["allele"], found["genotype"]))
    result: dict = {}
    roc = []
    for kind in ("SNP", "INDEL"):
        def of_kind(keys, kind=kind):
            return {k for k in keys if _kind(k) == kind}
        c, t = of_kind(called), of_kind(expected)
        figures = {}
        for view, (call_hits, truth_hits) in found.items():
            tp_call, tp_truth = len(c & call_hits), len(t & truth_hits)
            figures[view] = _figures(tp_truth, len(c) - tp_call, len(t) - tp_truth, tp_call)
        hits = {k: k in found["allele"][0] for k in c}
        roc += [(kind, q, _figures(tp_q, fp_q, len(t) - tp_q))
                for q, tp_q, fp_q in _qual_sweep({k: called[k] for k in c}, hits)]
        result[kind] = figures["allele"]
        tp = len(c & found["allele"][0])
        gt_tp = len(c & found["allele"][0] & found["genotype"][0])
        result[kind]["gt_concordance"] = round(gt_tp / tp, 4) if tp else 0.0
        result[kind]["genotype_aware"] = figures["genotype"]
    result["roc"] = roc
    result["errors"] = _errors(called, expected, found)
    return result


def _kind(key: tuple) -> str:
    """'SNP' or 'INDEL' of a normalised ``(contig, POS, REF, ALT)``."""
    return "SNP" if len(key[2]) == len(key[3]) == 1 else "INDEL"


def _errors(called: dict, expected: dict, found: dict) -> list[tuple]:
    """Each genotype-aware error: (type, FP/FN, contig, POS, REF, ALT, het/hom, QUAL,
    whether the allele-only view found it: then only the genotype is wrong)."""
    rows = []
    for error, records, hits in (("FP", called, 0), ("FN", expected, 1)):
        for key, (zygosity, qual) in records.items():
            if key not in found["genotype"][hits]:
                rows.append((_kind(key), error, *key, zygosity, qual,
                             key in found["allele"][hits]))
    return sorted(rows, key=lambda r: (r[2], r[3], r[1], r[4], r[5]))


CLUSTER_GAP = 10  # variants closer than this (bp between their REF spans) share a cluster
MAX_SLIDE = 200  # how far right of an indel its repeat is followed
MAX_LOOSE = 10  # unmatched records per cluster tried in every combination
MAX_PHASINGS = 1 << 10  # clusters with more hets than this allows stay record by record


def _match(called: dict, expected: dict, fasta, genotyped: bool,
           clusters: list | None = None) -> tuple[set, set]:
    """(call keys, truth keys) that are found: the same record on both sides, or in a
    cluster, the largest sets of unmatched calls and truth records that spell the same
    haplotypes (with the cluster's matched records) on both sides, as vcfeval finds.
    ``clusters``: :func:`_clusters` of these records, when already made."""
    def same(k):
        return k in expected and k in called and (
            not genotyped or called[k][0] == expected[k][0])

    call_hits = {k for k in called if same(k)}
    truth_hits = {k for k in expected if same(k)}
    for cluster in _clusters(called, expected, fasta) if clusters is None else clusters:
        calls = [k for side, k in cluster if side == 0]
        truths = [k for side, k in cluster if side == 1]
        loose_calls = [k for k in calls if k not in call_hits]
        loose_truths = [k for k in truths if k not in truth_hits]
        if not loose_calls or not loose_truths or \
                len(loose_calls) + len(loose_truths) > MAX_LOOSE:
            continue
        start = min(k[1] for _, k in cluster) - 1
        end = max(k[1] - 1 + len(k[2]) for _, k in cluster)
        reference = fasta.fetch(cluster[0][1][0], start, end).upper()

        call_options = _options([k for k in calls if k in call_hits], loose_calls, called,
                                reference, start, genotyped)
        truth_options = _options([k for k in truths if k in truth_hits], loose_truths,
                                 expected, reference, start, genotyped)
        pairs = [(len(c) + len(t), c, t) for c, c_haps in call_options
                 for t, t_haps in truth_options if c_haps & t_haps]
        if pairs:
            _, best_calls, best_truths = max(pairs, key=lambda p: p[0])
            call_hits.update(best_calls)
            truth_hits.update(best_truths)
    return call_hits, truth_hits


def _options(fixed: list, loose: list, genotypes: dict, reference: str, offset: int,
             genotyped: bool) -> list[tuple[list, set]]:
    """(subset of ``loose``, the haplotypes it spells with ``fixed``) for every subset that
    spells any."""
    return [(subset, haps) for subset in _subsets(loose)
            if (haps := _haplotypes(fixed + subset, genotypes, reference, offset, genotyped))]


def _subsets(keys: list) -> list[list]:
    """Every non-empty subset of ``keys``."""
    return [[k for i, k in enumerate(keys) if bits >> i & 1] for bits in range(1, 1 << len(keys))]


def _reach(key: tuple, fasta) -> int:
    """How far right of its REF an indel's haplotype can be spelt otherwise (0 for a SNP):
    the bases it can slide (moved by j, a deletion removes the j bases after it instead of
    its first j, an insertion's sequence rotates by j), or the tandem repeat (units of 1-6
    bp) at its anchor, where indels together can shift by whole units (-CA here and
    +CACACCA 20 bp on is +CACAC: one more unit of a CACAC repeat)."""
    contig, pos, ref, alt = key
    if len(ref) > 1 and alt == ref[:1]:
        moved = ref[1:]
    elif len(alt) > 1 and ref == alt[:1]:
        moved = alt[1:]
    else:
        return 0
    context = fasta.fetch(contig, pos - 1, pos - 1 + len(ref) + MAX_SLIDE).upper()
    after = context[len(ref):]
    template = moved + after  # base j after the indel must equal template[j]
    slide = 0
    while slide < len(after) and after[slide] == template[slide]:
        slide += 1
    codes = BASE_CODE[np.frombuffer(context.encode(), np.uint8)]
    return max(slide, int(repeat_span(codes)[0]) - len(ref))


def _clusters(called: dict, expected: dict, fasta):
    """Groups of (side, key) on one contig whose REF spans, each extended by how far an
    indel can slide along its repeat (:func:`_reach`), lie within CLUSTER_GAP of each other;
    side 0 = call, 1 = truth. Only groups holding both sides can change anything: an indel
    written at either end of a long repeat must meet the records near both ends."""
    items = sorted([(k[0], k[1], 0, k) for k in called] + [(k[0], k[1], 1, k) for k in expected])
    group: list = []
    group_end, contig = -1, None
    reach: dict[tuple, int] = {}
    for item_contig, pos, side, key in items:
        if group and (item_contig != contig or pos > group_end + CLUSTER_GAP):
            if {s for s, _ in group} == {0, 1}:
                yield group
            group = []
        if not group:
            contig, group_end = item_contig, -1
        group.append((side, key))
        if key not in reach:  # a record on both sides is looked at once
            reach[key] = _reach(key, fasta)
        group_end = max(group_end, pos - 1 + len(key[2]) + reach[key])
    if group and {s for s, _ in group} == {0, 1}:
        yield group


def _haplotypes(keys: list, genotypes: dict, reference: str, offset: int,
                genotyped: bool) -> set:
    """Every (unordered) pair of sequences the variants can make over ``reference``: homs
    on both haplotypes, each het on either (genotype-aware); or the one sequence with every
    variant applied (allele-only). Variants that overlap on one haplotype make no sequence."""
    keys = sorted(keys, key=lambda k: (k[1], k[2], k[3]))
    if not genotyped:
        sequence = _apply(keys, reference, offset)
        return set() if sequence is None else {sequence}
    hets = [i for i, k in enumerate(keys) if genotypes[k][0] != "hom"]
    if 1 << max(len(hets) - 1, 0) > MAX_PHASINGS:
        return set()
    pairs = set()
    for bits in range(1 << max(len(hets) - 1, 0)):  # the first het on haplotype A: symmetry
        on_b = {i for n, i in enumerate(hets[1:]) if bits >> n & 1}
        on_a = set(hets) - on_b
        a = _apply([k for i, k in enumerate(keys) if i not in on_b], reference, offset)
        b = _apply([k for i, k in enumerate(keys) if i not in on_a], reference, offset)
        if a is not None and b is not None:
            pairs.add((a, b) if a <= b else (b, a))
    return pairs


def _apply(keys: list, reference: str, offset: int) -> str | None:
    """``reference`` (starting at 0-based ``offset``) with the sorted variants applied; None
    where two of them overlap."""
    out, at = [], 0
    for _, pos, ref_allele, alt in keys:
        start = pos - 1 - offset
        if start < at:
            return None
        out.append(reference[at:start])
        out.append(alt)
        at = start + len(ref_allele)
    out.append(reference[at:])
    return "".join(out)


def _qual_sweep(called: dict, hits: dict):
    """(threshold, TP, FP) keeping calls with QUAL >= threshold, for every distinct QUAL;
    ``hits`` says which calls are true."""
    scored = sorted(((v[1] or 0.0), hits[k]) for k, v in called.items())
    tp, fp = sum(hit for _, hit in scored), sum(not hit for _, hit in scored)
    i = 0
    while i < len(scored):
        qual = scored[i][0]
        yield qual, tp, fp
        while i < len(scored) and scored[i][0] == qual:
            tp, fp = tp - scored[i][1], fp - (not scored[i][1])
            i += 1


def write_roc(result: dict, path: Path) -> None:
    lines = ["type\tmin_qual\ttp\tfp\tfn\tprecision\trecall\tf1"]
    for kind, qual, f in result["roc"]:
        lines.append(f"{kind}\t{qual:g}\t{f['tp']}\t{f['fp']}\t{f['fn']}\t{f['precision']}\t"
                     f"{f['recall']}\t{f['f1']}")
    Path(path).write_text("\n".join(lines) + "\n")


def write_errors(result: dict, path: Path) -> None:
    """The genotype-aware FPs and FNs as TSV, normalised records in reference order."""
    lines = ["type\terror\tcontig\tpos\tref\talt\tgenotype\tqual\tallele_found"]
    for kind, error, contig, pos, ref, alt, zygosity, qual, allele_found in result["errors"]:
        quality = "." if qual is None else f"{qual:g}"
        lines.append(f"{kind}\t{error}\t{contig}\t{pos}\t{ref}\t{alt}\t{zygosity}\t{quality}\t"
                     f"{'yes' if allele_found else 'no'}")
    Path(path).write_text("\n".join(lines) + "\n")


def _figures(tp: int, fp: int, fn: int, tp_call: int | None = None) -> dict:
    """Precision from the calls (``tp_call`` of them true, default ``tp``), recall from the
    truth (``tp`` of its variants found)."""
    tp_call = tp if tp_call is None else tp_call
    precision = tp_call / (tp_call + fp) if tp_call + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "tp_call": tp_call, "fp": fp, "fn": fn, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


def format_table(result: dict) -> str:
    lines = [f"{'type':<6} {'view':<9} {'TP':>6} {'FP':>6} {'FN':>6} {'precision':>9} "
             f"{'recall':>7} {'F1':>7} {'GT conc':>7}"]
    for kind in ("SNP", "INDEL"):
        for view, figs in (("allele", result[kind]), ("genotype", result[kind]["genotype_aware"])):
            conc = f"{result[kind]['gt_concordance']:.4f}" if view == "allele" else ""
            lines.append(f"{kind:<6} {view:<9} {figs['tp']:>6} {figs['fp']:>6} {figs['fn']:>6} "
                         f"{figs['precision']:>9.4f} {figs['recall']:>7.4f} {figs['f1']:>7.4f} "
                         f"{conc:>7}")
    return "\n".join(lines)


def write_json(result: dict, path: Path) -> None:
    summary = {k: v for k, v in result.items() if k not in ("roc", "errors")}
    Path(path).write_text(json.dumps(summary, indent=2) + "\n")


