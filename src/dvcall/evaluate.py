"""Score calls against a truth VCF: normalise both sides (``bcftools norm``: left-align, trim,
split multi-allelics, decompose MNPs and complex records into SNPs and indels), then match
alleles by (contig, POS, REF, ALT), SNPs and indels apart.

Allele-only figures count a call as a true positive when its allele is in the truth; the
genotype-aware figures also require the same genotype (unphased), as vcfeval does by default.
"""

import json
import tempfile
from pathlib import Path

import pysam
import pysam.bcftools

from dvcall.chunks import InputError, Region, open_fasta, read_bed


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
    result: dict = {}
    roc = []
    for kind in ("SNP", "INDEL"):
        def of_kind(d, kind=kind):
            return {k: v for k, v in d.items()
                    if (len(k[2]) == len(k[3]) == 1) == (kind == "SNP")}
        c, t = of_kind(called), of_kind(expected)
        tp = len(c.keys() & t.keys())
        gt_tp = sum(1 for k in c.keys() & t.keys() if c[k][0] == t[k][0])
        roc += [(kind, q, _figures(tp_q, fp_q, len(t) - tp_q))
                for q, tp_q, fp_q in _qual_sweep(c, t)]
        result[kind] = _figures(tp, len(c) - tp, len(t) - tp)
        result[kind]["gt_concordance"] = round(gt_tp / tp, 4) if tp else 0.0
        result[kind]["genotype_aware"] = _figures(gt_tp, len(c) - gt_tp, len(t) - gt_tp)
    result["roc"] = roc
    return result


def _qual_sweep(called: dict, truth: dict):
    """(threshold, TP, FP) keeping calls with QUAL >= threshold, for every distinct QUAL."""
    scored = sorted(((v[1] or 0.0), k in truth) for k, v in called.items())
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


def _figures(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 4),
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
    summary = {k: v for k, v in result.items() if k != "roc"}
    Path(path).write_text(json.dumps(summary, indent=2) + "\n")


