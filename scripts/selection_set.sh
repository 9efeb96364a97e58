#!/usr/bin/env bash
# Held-out selection set: where rule and model choices are made, so the benchmark sets
# (bench/accuracy.sh) stay unseen. dvcall's simulator, seed 7777 (used by no training or
# benchmark set), 2 x 500 kb, repeat-rich, art_illumina 2x150 at 30x and 15x.
# Prints dvcall's genotype-aware errors (FP + FN) per set; extra arguments go to `dvcall call`
# (e.g. --model candidate.safetensors).
# A second, larger set: SEED=7778 CONTIGS=1000000,1000000 scripts/selection_set.sh build/selection-set-2
# Needs bwa and art_illumina. Usage: scripts/selection_set.sh [WORKDIR] [dvcall call options]
set -euo pipefail
work="${1:-build/selection-set}"
shift || true
seed="${SEED:-7777}"
contigs="${CONTIGS:-500000,500000}"
for cov in 30 15; do
  d="$work/sim$cov"
  [ -f "$d/reads.bam" ] || python -m dvcall.simulate --out "$d" --contigs "$contigs" \
    --coverage "$cov" --seed "$seed" --simulator art --indel-rate 5e-4 >/dev/null
  dvcall call --bam "$d/reads.bam" --ref "$d/ref.fa" -o "$d/dvcall.vcf.gz" --quiet "$@"
  dvcall evaluate --calls "$d/dvcall.vcf.gz" --truth "$d/truth.vcf.gz" --ref "$d/ref.fa" \
    --json "$d/dvcall.json" >/dev/null
  python - "$d/dvcall.json" "$cov" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
errors = {k: r[k]["genotype_aware"]["fp"] + r[k]["genotype_aware"]["fn"] for k in ("SNP", "INDEL")}
print(f"{sys.argv[2]}x  SNP errors {errors['SNP']:4d}  INDEL errors {errors['INDEL']:4d}  "
      f"(genotype-aware FP + FN)")
PY
done
