#!/usr/bin/env bash
# Reproduce the packaged default model (src/dvcall/models/default.safetensors).
# Training data come from dvcall's own simulator with seeds that testdata/ does not use:
#   a: 2 x 400 kb, 30x, art_illumina HiSeq 2500 2x150 bp
#   b: 1 x 500 kb, 15x, dwgsim 2x150 bp (a second error profile)
# Needs bwa, art_illumina and dwgsim (apt-get install bwa art-nextgen-simulation-tools dwgsim).
set -euo pipefail
work="${1:-build/model-data}"
out="${2:-src/dvcall/models/default.safetensors}"
mkdir -p "$work"
[ -f "$work/a/reads.bam" ] || python -m dvcall.simulate --out "$work/a" --contigs 400000,400000 \
  --coverage 30 --seed 101 --simulator art
[ -f "$work/b/reads.bam" ] || python -m dvcall.simulate --out "$work/b" --contigs 500000 \
  --coverage 15 --seed 202 --simulator dwgsim
dvcall train \
  --bam "$work/a/reads.bam" --truth "$work/a/truth.vcf.gz" --ref "$work/a/ref.fa" \
  --bam "$work/b/reads.bam" --truth "$work/b/truth.vcf.gz" --ref "$work/b/ref.fa" \
  --out "$out" --epochs 30 --learning-rate 3e-3 --seed 0
