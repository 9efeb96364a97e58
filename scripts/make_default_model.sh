#!/usr/bin/env bash
# Reproduce the packaged default model (src/dvcall/model/default.safetensors).
# Training data come from dvcall's own simulator, with seeds that testdata/ and
# bench/accuracy.sh do not use; the genomes carry homopolymers, STRs, a segmental duplication,
# clustered sites, het/hom SNPs and indels up to 30 bp:
#   a: 2 x 400 kb, 30x, art_illumina (HiSeq 2500 profile) 2x150
#   b: 1 x 500 kb, 15x, dwgsim 2x150 (a second error profile)
#   c: 2 x 500 kb, 50x, art_illumina, more indels
#   d: 1 x 500 kb, 10x, dwgsim, more indels
#   e: 1 x 600 kb, 20x, art_illumina, more indels
#   f: 2 x 500 kb, 15x, art_illumina, still more indels (low-coverage indel genotypes)
# The shipped model was trained by this recipe (seed 0) before the simulator stopped drawing
# indels whose normalised place reaches back to the previous variant; sets c and f now differ
# (6 fewer variants, new reads). Retrained on the present sets, seeds 0 and 1 gave models with
# more genotype-aware SNP errors on the held-out sets (scripts/selection_set.sh, seeds 7777 and
# 7778, 30x + 15x: 61 and 46 against the shipped model's 32; indels 42 and 46 against 41), so
# the shipped model stays until a retrain beats it there. Fine-tuning the shipped model on the
# present sets (--from, 5 epochs, --learning-rate 3e-4) gave 56 SNP / 60 indel errors on the
# three held-out sets (seeds 7777-7779) against its 39 / 57.
# Retrained again under the caller's present rules (7.6 min on 2 cores), training seeds 0-7
# made 92, 124, 101, 97, 99, 115, 100 and 101 SNP errors and 66, 140, 74, 64, 72, 136, 74 and
# 77 indel errors on five held-out sets (seeds 7777-7781, 30x + 15x) against the shipped
# model's 79 and 63.
# Rerun at the commit that trained the shipped weights (a2d8723) with today's jax 0.10.2, the
# recipe gave other weights (99 / 86 held-out errors): runs are deterministic on one library
# set (two 2-epoch runs on testdata: the same bytes), but the shipped bytes depend on the
# libraries of their day too.
# ALLELE_EVIDENCE=1: the allele-evidence candidate of docs/decisions.md instead (not shipped):
# three more sets (g: 1 x 500 kb, 6x, art HiSeq 1000 2x100; h: 1 x 500 kb, 25x, art MiSeq v1
# 2x250; i: 1 x 400 kb, 60x, dwgsim at 0.4% error), `dvcall train --allele-evidence`, then its
# QUAL calibration fitted on the eight selection sets (scripts/calibration_sets.sh) and
# stored in the file. 18.6 min of training on 2 cores (allele feature set 3).
# SEED=N: another training seed (the recipe's is 0; docs/decisions.md compares seeds).
# Needs bwa, art_illumina and dwgsim (apt-get install bwa art-nextgen-simulation-tools dwgsim).
set -euo pipefail
work="${1:-build/model-data}"
out="${2:-src/dvcall/model/default.safetensors}"
mkdir -p "$work"
sim() {  # name contigs coverage seed simulator indel-rate [simulate options]
  [ -f "$work/$1/reads.bam" ] || python -m dvcall.simulate --out "$work/$1" --contigs "$2" \
    --coverage "$3" --seed "$4" --simulator "$5" --indel-rate "$6" "${@:7}"
}
sim a 400000,400000 30 101 art 2.5e-4
sim b 500000 15 202 dwgsim 2.5e-4
sim c 500000,500000 50 303 art 4e-4
sim d 500000 10 404 dwgsim 4e-4
sim e 600000 20 505 art 4e-4
sim f 500000,500000 15 606 art 6e-4
sets=(a b c d e f)
options=()
if [ -n "${ALLELE_EVIDENCE:-}" ]; then
  sim g 500000 6 707 art 4e-4 --art-profile HS10 --read-length 100
  sim h 500000 25 808 art 4e-4 --art-profile MSv1 --read-length 250
  sim i 400000 60 909 dwgsim 2.5e-4 --dwgsim-error 0.004
  sets+=(g h i)
  options+=(--allele-evidence)
fi
args=()
for s in "${sets[@]}"; do
  args+=(--bam "$work/$s/reads.bam" --truth "$work/$s/truth.vcf.gz" --ref "$work/$s/ref.fa")
done
dvcall train "${args[@]}" --out "$out" --epochs 20 --learning-rate 3e-3 --seed "${SEED:-0}" "${options[@]}"
if [ -n "${ALLELE_EVIDENCE:-}" ]; then
  SETS_ONLY=1 bash "$(dirname "$0")/calibration_sets.sh" "$work/selection"
  python "$(dirname "$0")/fit_calibration.py" --model "$out" --write "$work"/selection/*/
fi
