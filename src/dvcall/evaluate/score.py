"""``evaluate``: precision, recall and F1 of SNPs and indels, allele-only and genotype-aware."""

from pathlib import Path

from dvcall.evaluate.matching import find_clusters, match
from dvcall.evaluate.normalize import check_contigs, normalized_alleles, variant_kind
from dvcall.evaluate.report import genotype_errors, precision_recall, qual_sweep
from dvcall.io.reference import open_fasta
from dvcall.io.regions import read_bed


def evaluate(calls: Path, truth: Path, ref: Path, bed: Path | None = None,
             all_records: bool = False) -> dict:
    fasta = open_fasta(ref)
    lengths = dict(zip(fasta.references, fasta.lengths))
    regions = read_bed(bed, lengths, "--bed") if bed else None
    for path in (calls, truth):
        check_contigs(path, fasta)
    called = normalized_alleles(calls, ref, regions, pass_only=not all_records)
    expected = normalized_alleles(truth, ref, regions, pass_only=True)
    clusters = list(find_clusters(called, expected, fasta))  # the same for both views
    found = {view: match(called, expected, fasta, genotyped=view == "genotype",
                          clusters=clusters)
             for view in ("allele", "genotype")}
    # records that spell the truth's two haplotypes have its alleles too, even where the
    # allele view cannot put them all on one haplotype (overlapping het deletions)
    found["allele"] = tuple(a | g for a, g in zip(found["allele"], found["genotype"]))
    result: dict = {}
    roc = []
    for kind in ("SNP", "INDEL"):
        def of_kind(keys, kind=kind):
            return {k for k in keys if variant_kind(k) == kind}
        c, t = of_kind(called), of_kind(expected)
        figures = {}
        for view, (call_hits, truth_hits) in found.items():
            tp_call, tp_truth = len(c & call_hits), len(t & truth_hits)
            figures[view] = precision_recall(tp_truth, len(c) - tp_call, len(t) - tp_truth, tp_call)
        hits = {k: k in found["allele"][0] for k in c}
        roc += [(kind, q, precision_recall(tp_q, fp_q, len(t) - tp_q))
                for q, tp_q, fp_q in qual_sweep({k: called[k] for k in c}, hits)]
        result[kind] = figures["allele"]
        tp = len(c & found["allele"][0])
        gt_tp = len(c & found["allele"][0] & found["genotype"][0])
        result[kind]["gt_concordance"] = round(gt_tp / tp, 4) if tp else 0.0
        result[kind]["genotype_aware"] = figures["genotype"]
    result["roc"] = roc
    result["errors"] = genotype_errors(called, expected, found)
    return result
