"""The panel's tables (bench/panel.sh): errors per set and pooled, and dvcall's calibration."""

import csv
import json
import sys
from pathlib import Path

import pysam
from errors import unsettled_snp_errors

CALLERS = ("dvcall", "bcftools.q20", "freebayes.q20")
QUAL_BINS = ((0, 3), (3, 10), (10, 20), (20, 30), (30, 50), (50, 1000))
GQ_BINS = ((0, 10), (10, 20), (20, 30), (30, 50), (50, 100))


def errors(result: dict, kind: str) -> int:
    figures = result[kind]["genotype_aware"]
    return figures["fp"] + figures["fn"]


def qual_bins(roc_path: Path) -> dict:
    """Per QUAL bin: (calls, false calls, summed 10^(-QUAL/10)) of the SNP and INDEL PASS calls,
    allele level, from evaluate's --roc (cumulative counts at each distinct QUAL)."""
    out = {b: [0, 0, 0.0] for b in QUAL_BINS}
    rows: dict[str, list] = {}
    with open(roc_path) as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            rows.setdefault(row["type"], []).append(
                (float(row["min_qual"]), int(row["tp"]), int(row["fp"])))
    for series in rows.values():
        series.sort()
        for i, (qual, tp, fp) in enumerate(series):
            nxt = series[i + 1] if i + 1 < len(series) else (None, 0, 0)
            calls, false = (tp + fp) - (nxt[1] + nxt[2]), fp - nxt[2]
            for lo, hi in QUAL_BINS:
                if lo <= qual < hi:
                    out[(lo, hi)][0] += calls
                    out[(lo, hi)][1] += false
                    out[(lo, hi)][2] += calls * 10 ** (-qual / 10)
    return out


def gq_bins(vcf: Path, errors_tsv: Path, every_call: bool = False) -> dict:
    """Per GQ bin: (PASS calls whose allele is true, of them with a wrong genotype, summed
    10^(-GQ/10)); with ``every_call`` all PASS calls, a false allele's genotype counted wrong
    (the site is hom-ref), as GQ states the chance that GT is wrong."""
    false_allele, wrong_gt = set(), set()
    with open(errors_tsv) as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["error"] == "FP":
                key = (row["contig"], int(row["pos"]))
                (wrong_gt if row["allele_found"] == "yes" else false_allele).add(key)
    out = {b: [0, 0, 0.0] for b in GQ_BINS}
    for rec in pysam.VariantFile(str(vcf)):
        if "PASS" not in rec.filter.keys() or (
                not every_call and (rec.contig, rec.pos) in false_allele):
            continue
        gq = rec.samples[0]["GQ"]
        for lo, hi in GQ_BINS:
            if lo <= gq < hi:
                out[(lo, hi)][0] += 1
                out[(lo, hi)][1] += (rec.contig, rec.pos) in wrong_gt | false_allele
                out[(lo, hi)][2] += 10 ** (-gq / 10)
    return out


def main(work: Path, names: list[str]) -> None:
    print("| set | in training | SNP dvcall | SNP bcftools | SNP freebayes | INDEL dvcall "
          "| INDEL bcftools | INDEL freebayes |")
    print("|---|---|---|---|---|---|---|---|")
    pooled = {(group, c, k): 0 for group in ("all", "unseen") for c in CALLERS
              for k in ("SNP", "INDEL")}
    qual = {b: [0, 0, 0.0] for b in QUAL_BINS}
    gq = {b: [0, 0, 0.0] for b in GQ_BINS}
    gq_all = {b: [0, 0, 0.0] for b in GQ_BINS}
    for name in names:
        d = work / name
        trained = (d / "trained").read_text().strip()
        results = {c: json.loads((d / f"{c}.json").read_text()) for c in CALLERS}
        cells = []
        for kind in ("SNP", "INDEL"):
            for c in CALLERS:
                n = errors(results[c], kind)
                cells.append(str(n))
                pooled[("all", c, kind)] += n
                if trained == "no":
                    pooled[("unseen", c, kind)] += n
        print(f"| {name} | {trained} | " + " | ".join(cells) + " |")
        for b, (calls, false, promised) in qual_bins(d / "dvcall.roc.tsv").items():
            qual[b][0] += calls
            qual[b][1] += false
            qual[b][2] += promised
        for every_call, bins in ((False, gq), (True, gq_all)):
            for b, (calls, wrong, promised) in gq_bins(d / "dvcall.vcf.gz",
                                                        d / "dvcall.errors.tsv",
                                                        every_call).items():
                bins[b][0] += calls
                bins[b][1] += wrong
                bins[b][2] += promised
    for group, label in (("all", f"pooled, {len(names)} sets"),
                         ("unseen", "pooled, profiles not in training")):
        print(f"| **{label}** | | " + " | ".join(
            str(pooled[(group, c, k)]) for k in ("SNP", "INDEL") for c in CALLERS) + " |")
    settled = {c: [0, 0] for c in CALLERS[:2]}
    for name in names:
        for c in settled:
            total, unsettled = unsettled_snp_errors(work / name, c)
            settled[c][0] += total
            settled[c][1] += unsettled
    print("\nSNP errors at sites whose reads give the truth to no caller that believes them "
          "(bench/errors.py), pooled: " + "; ".join(
              f"{c} {unsettled} of {total}, {total - unsettled} others"
              for c, (total, unsettled) in settled.items()))
    table("dvcall QUAL calibration (PASS SNPs and indels, allele level, pooled)",
          ("QUAL", "calls", "false", "share false", "QUAL states"), qual)
    table("dvcall GQ calibration (PASS calls with a true allele, pooled)",
          ("GQ", "calls", "wrong genotype", "share wrong", "GQ states"), gq)
    table("dvcall GQ calibration (every PASS call; a false allele's GT is wrong, pooled)",
          ("GQ", "calls", "wrong genotype", "share wrong", "GQ states"), gq_all)


def table(title: str, columns: tuple, bins: dict) -> None:
    """One calibration table: per bin, calls, errors, their share and what the score states."""
    print(f"\n{title}:")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for (lo, hi), (calls, wrong, promised) in bins.items():
        if calls:
            print(f"| [{lo},{hi}) | {calls} | {wrong} | {wrong / calls:.2%} | "
                  f"{promised / calls:.2%} |")

if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
