#!/usr/bin/env bash
# The selection sets QUAL's calibration is fitted on (postprocess/thresholds.py QUAL_CALIBRATION),
# then the fit. Seeds 7801-7806 are used by no training, panel or benchmark set; the profiles are
# the default model's training profiles only (art HS25, dwgsim at 0.1-1% error), so the panel's
# other sequencers stay unseen. Each set is 2 x 500 kb.
# Needs bwa, art_illumina, dwgsim. Usage: scripts/calibration_sets.sh [WORKDIR]
set -euo pipefail
work="${1:-build/calibration-sets}"
sets=(
  "HS25-15x|7801|15|--simulator art --art-profile HS25"
  "HS25-30x|7802|30|--simulator art --art-profile HS25"
  "HS25-8x|7803|8|--simulator art --art-profile HS25"
  "HS25-20x-indels|7804|20|--simulator art --art-profile HS25 --indel-rate 5e-4"
  "dwgsim-15x|7805|15|--simulator dwgsim"
  "dwgsim-low-10x|7806|10|--simulator dwgsim --dwgsim-error 0.001"
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
python "$(dirname "$0")/fit_calibration.py" "${folders[@]}"
