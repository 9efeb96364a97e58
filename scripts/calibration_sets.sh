#!/usr/bin/env bash
# The selection sets, then a QUAL calibration fitted on them (scripts/fit_calibration.py).
# Seeds 7801-7812 are used by no training, panel or benchmark set; the profiles are training
# profiles only (art HS25, HS10 and MSv1, dwgsim at 0.1-1% error), so the panel's other
# sequencers stay unseen. Each set is 2 x 500 kb. The shipped model's QUAL_CALIBRATION
# (postprocess/thresholds.py) was fitted on the first six; docs/decisions.md has its fit on all.
# Needs bwa, art_illumina, dwgsim. Usage: scripts/calibration_sets.sh [WORKDIR]
set -euo pipefail
work="${1:-build/calibration-sets}"
# SETS_ONLY=1: make the sets, fit nothing (scripts/selection_errors.sh compares models on them)
sets=(
  "HS25-15x|7801|15|--simulator art --art-profile HS25"
  "HS25-30x|7802|30|--simulator art --art-profile HS25"
  "HS25-8x|7803|8|--simulator art --art-profile HS25"
  "HS25-20x-indels|7804|20|--simulator art --art-profile HS25 --indel-rate 5e-4"
  "dwgsim-15x|7805|15|--simulator dwgsim"
  "dwgsim-low-10x|7806|10|--simulator dwgsim --dwgsim-error 0.001"
  "HS10-2x100-8x|7807|8|--simulator art --art-profile HS10 --read-length 100"
  "MSv1-2x250-20x|7808|20|--simulator art --art-profile MSv1 --read-length 250"
  "HS25-30x-indels|7809|30|--simulator art --art-profile HS25 --indel-rate 8e-4"
  "dwgsim-30x-indels|7810|30|--simulator dwgsim --indel-rate 8e-4"
  "HS25-2x75-30x-indels|7811|30|--simulator art --art-profile HS25 --read-length 75 --indel-rate 8e-4"
  "dwgsim-2x75-20x-indels|7812|20|--simulator dwgsim --read-length 75 --indel-rate 8e-4"
)
folders=()
for entry in "${sets[@]}"; do
  IFS='|' read -r name seed cov opts <<<"$entry"
  d="$work/$name"
  # shellcheck disable=SC2086
  [ -f "$d/reads.bam" ] || python -m dvcall.simulate --out "$d" --contigs 500000,500000 \
    --coverage "$cov" --seed "$seed" $opts >/dev/null
  folders+=("$d")
done
[ -n "${SETS_ONLY:-}" ] || python "$(dirname "$0")/fit_calibration.py" "${folders[@]}"
