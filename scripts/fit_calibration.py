"""Fit QUAL's calibration (QUAL_CALIBRATION in dvcall/postprocess/thresholds.py) on selection
sets: never on the panel's (bench/panel.sh) or the other benchmarks' sets.

Each set (a folder with reads.bam, ref.fa, truth.vcf.gz from `dvcall simulate`) is called with
the installed dvcall; every record (LowQual too) is labelled true or false at the allele level
by `dvcall evaluate --all-records --errors`; the model's own log-odds of a variant is read back
from QUAL by undoing the calibration in force; and per variant kind (SNPs whose alternative
one read shows apart) the log-odds that the allele is true is fitted as ``a * raw + b``
(logistic regression, Platt scaling).

The fit is printed; with ``--write`` it is also stored in the model file (its metadata,
``qual_calibration``), which `dvcall call` then applies to that model's QUAL. A model without
one gets the shipped model's (QUAL_CALIBRATION).

Usage: python scripts/fit_calibration.py [--model MODEL [--write]] SET_DIR [SET_DIR ...]
"""

import argparse
import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam

from dvcall.model.calibration import read_calibration, write_calibration
from dvcall.postprocess.thresholds import QUAL_CALIBRATION, SNP_ONE_READ


def labelled_records(folder: Path, model: Path | None):
    """(kind, raw log-odds, is true) of every record dvcall writes for one set."""
    vcf = folder / "selection.vcf.gz"
    in_force = (read_calibration(model) if model else None) or QUAL_CALIBRATION
    subprocess.run(["dvcall", "call", "--bam", folder / "reads.bam", "--ref", folder / "ref.fa",
                    "-o", vcf, "--quiet", *(["--model", model] if model else [])], check=True)
    errors = folder / "selection.errors.tsv"
    subprocess.run(["dvcall", "evaluate", "--calls", vcf, "--truth", folder / "truth.vcf.gz",
                    "--ref", folder / "ref.fa", "--all-records", "--errors", errors],
                   check=True, stdout=subprocess.DEVNULL)
    with open(errors) as fh:
        false = {(r["contig"], int(r["pos"])) for r in csv.DictReader(fh, delimiter="\t")
                 if r["error"] == "FP" and r["allele_found"] == "no"}
    for rec in pysam.VariantFile(str(vcf)):
        kind = rec.info["VT"]
        if kind == "SNP" and max(rec.samples[0]["AD"][1:]) == 1:
            kind = SNP_ONE_READ  # one read shows the alternative: fitted apart
        p_ref = min(max(10 ** (-rec.qual / 10), 1e-12), 1 - 1e-12)
        calibrated = math.log((1 - p_ref) / p_ref)
        a, b = in_force[kind]
        yield kind, (calibrated - b) / a, (rec.contig, rec.pos) not in false


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[float, float]:
    """Logistic regression of y on x: (slope, intercept), by Newton's method with its steps
    held to 1 (an undamped step overshot on records at QUAL's cap and diverged)."""
    w = np.array([1.0, 0.0])
    design = np.stack([x, np.ones_like(x)], 1)
    for _ in range(200):
        p = 1 / (1 + np.exp(-np.clip(design @ w, -500, 500)))
        gradient = design.T @ (p - y) + ridge * w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge * np.eye(2)
        step = np.clip(np.linalg.solve(hessian, gradient), -1.0, 1.0)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), float(w[1])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model file  [default: the shipped one]")
    parser.add_argument("--write", action="store_true", help="store the fit in --model")
    parser.add_argument("sets", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.write and args.model is None:
        parser.error("--write needs --model (the shipped model's fit is QUAL_CALIBRATION)")
    rows = [r for f in args.sets for r in labelled_records(f, args.model)]
    calibration = {}
    for kind in ("SNP", "INDEL", SNP_ONE_READ):
        x = np.array([r[1] for r in rows if r[0] == kind])
        y = np.array([float(r[2]) for r in rows if r[0] == kind])
        calibration[kind] = a, b = fit(x, y)
        print(f"{kind}: {len(x)} records, {int(len(y) - y.sum())} false; a = {a:.4f}, "
              f"b = {b:.4f}")
    if args.write:
        write_calibration(args.model, calibration)
        print(f"written to {args.model}")


if __name__ == "__main__":
    main(sys.argv[1:])
