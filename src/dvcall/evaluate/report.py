"""Figures from matched records, and the files and table ``dvcall evaluate`` writes."""

import json
from pathlib import Path

from dvcall.evaluate.normalize import variant_kind


def precision_recall(tp: int, fp: int, fn: int, tp_call: int | None = None) -> dict:
    """Precision from the calls (``tp_call`` of them true, default ``tp``), recall from the
    truth (``tp`` of its variants found)."""
    tp_call = tp if tp_call is None else tp_call
    precision = tp_call / (tp_call + fp) if tp_call + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "tp_call": tp_call, "fp": fp, "fn": fn, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


def qual_sweep(called: dict, hits: dict):
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


def genotype_errors(called: dict, expected: dict, found: dict) -> list[tuple]:
    """Each genotype-aware error: (type, FP/FN, contig, POS, REF, ALT, het/hom, QUAL,
    whether the allele-only view found it: then only the genotype is wrong)."""
    rows = []
    for error, records, hits in (("FP", called, 0), ("FN", expected, 1)):
        for key, (zygosity, qual) in records.items():
            if key not in found["genotype"][hits]:
                rows.append((variant_kind(key), error, *key, zygosity, qual,
                             key in found["allele"][hits]))
    return sorted(rows, key=lambda r: (r[2], r[3], r[1], r[4], r[5]))


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
