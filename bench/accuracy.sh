#!/usr/bin/env bash
# Accuracy benchmark: dvcall vs bcftools vs freebayes on simulated sets the default model never
# saw (seeds differ from testdata and from the model's training data).
#   set 30x: 2 x 300 kb, art_illumina 2x150, 30x      set 15x: same genome, 15x
# The genome is repeat-rich (homopolymers, STRs, a segmental duplication; see dvcall.simulate).
# Scores: `dvcall evaluate`, genotype-aware F1 (allele-only in brackets), PASS / QUAL >= 20.
# Needs: bwa, art_illumina, bcftools, freebayes (apt-get install bwa art-nextgen-simulation-tools
# bcftools freebayes). Usage: bench/accuracy.sh [WORKDIR] [CONTIG_LENGTHS] [SEED]
set -euo pipefail
work="${1:-bench/out/accuracy}"
contigs="${2:-300000,300000}"
seed="${3:-9001}"
mkdir -p "$work"
dv="${DVCALL:-dvcall}"
declare -A results
for cov in 30 15; do
  d="$work/sim$cov"
  [ -f "$d/reads.bam" ] || python -m dvcall.simulate --out "$d" --contigs "$contigs" \
    --coverage "$cov" --seed "$seed" --simulator art --indel-rate 5e-4 >/dev/null
  "$dv" call --bam "$d/reads.bam" --ref "$d/ref.fa" -o "$d/dvcall.vcf.gz" --quiet
  bcftools mpileup -Ou -f "$d/ref.fa" "$d/reads.bam" 2>/dev/null | bcftools call -mv -Oz \
    -o "$d/bcftools.vcf.gz" 2>/dev/null
  bcftools view -i 'QUAL>=20' -Oz -o "$d/bcftools.q20.vcf.gz" "$d/bcftools.vcf.gz"
  freebayes -f "$d/ref.fa" "$d/reads.bam" > "$d/freebayes.raw.vcf"
  bcftools view -i 'QUAL>=20' -Oz -o "$d/freebayes.q20.vcf.gz" "$d/freebayes.raw.vcf"
  for caller in dvcall bcftools.q20 freebayes.q20; do
    "$dv" evaluate --calls "$d/$caller.vcf.gz" --truth "$d/truth.vcf.gz" --ref "$d/ref.fa" \
      --json "$d/$caller.json" $([ "$caller" = dvcall ] || echo --all-records) >/dev/null
    results["$cov,$caller"]="$d/$caller.json"
  done
done
python - "$work" <<'PY'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
print("| set | caller | SNP F1 (GT) | SNP F1 (allele) | SNP P/R (GT) | INDEL F1 (GT) "
      "| INDEL F1 (allele) | INDEL P/R (GT) |")
print("|---|---|---|---|---|---|---|---|")
for cov in (30, 15):
    for caller in ("dvcall", "bcftools.q20", "freebayes.q20"):
        r = json.loads((work / f"sim{cov}" / f"{caller}.json").read_text())
        s, i = r["SNP"], r["INDEL"]
        sg, ig = s["genotype_aware"], i["genotype_aware"]
        print(f"| {cov}x | {caller.replace('.q20', ' (QUAL>=20)')} | {sg['f1']:.4f} | "
              f"{s['f1']:.4f} | {sg['precision']:.3f}/{sg['recall']:.3f} | {ig['f1']:.4f} | "
              f"{i['f1']:.4f} | {ig['precision']:.3f}/{ig['recall']:.3f} |")
PY
