#!/usr/bin/env bash
# Regenerate testdata/ (needs bwa and art_illumina: apt-get install bwa art-nextgen-simulation-tools).
# Two contigs (120 kb + 80 kb), diploid truth with het/hom SNPs and indels, 30x 2x150 bp reads
# from art_illumina's HiSeq 2500 profile aligned with bwa mem. Seeded: the same files every run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python -m dvcall.simulate --out "$here" --contigs 120000,80000 --coverage 30 --seed 7 \
  --simulator art --read-length 150
