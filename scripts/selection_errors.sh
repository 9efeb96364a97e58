#!/usr/bin/env bash
# Genotype-aware errors (FP + FN of PASS records, `dvcall evaluate`) of one model on selection
# sets: where models and rules are chosen, never on the panel's sets (bench/panel.sh).
# The sets are folders made by scripts/calibration_sets.sh (reads.bam, ref.fa, truth.vcf.gz).
# Usage: scripts/selection_errors.sh MODEL SET_DIR [SET_DIR ...]   (MODEL: "default" for the
# shipped one). Extra `dvcall call` options go in $CALL_OPTIONS.
set -euo pipefail
model="$1"
shift
tag="$(basename "$model" .safetensors)"
total_snp=0
total_indel=0
printf '%-22s %6s %6s\n' set SNP INDEL
for d in "$@"; do
  vcf="$d/model-$tag.vcf.gz"
  # shellcheck disable=SC2086
  dvcall call --bam "$d/reads.bam" --ref "$d/ref.fa" -o "$vcf" --quiet \
    $([ "$model" = default ] || echo --model "$model") ${CALL_OPTIONS:-}
  dvcall evaluate --calls "$vcf" --truth "$d/truth.vcf.gz" --ref "$d/ref.fa" \
    --json "$d/model-$tag.json" >/dev/null
  read -r snp indel < <(python - "$d/model-$tag.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(*(r[k]["genotype_aware"]["fp"] + r[k]["genotype_aware"]["fn"] for k in ("SNP", "INDEL")))
PY
)
  printf '%-22s %6d %6d\n' "$(basename "$d")" "$snp" "$indel"
  total_snp=$((total_snp + snp))
  total_indel=$((total_indel + indel))
done
printf '%-22s %6d %6d\n' total "$total_snp" "$total_indel"
