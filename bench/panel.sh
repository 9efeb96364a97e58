#!/usr/bin/env bash
# Accuracy panel: dvcall vs bcftools vs freebayes on simulated sets of other sequencers, depths
# and error rates than the default model was trained on, with seeds no training, selection or
# benchmark set uses (9101-9111). Each set is 2 x 500 kb of dvcall's repeat-rich genome.
# Per set: genotype-aware errors (FP + FN, `dvcall evaluate`) of SNPs and indels, dvcall's PASS
# records against bcftools `mpileup | call -mv` and freebayes at QUAL >= 20; the pooled totals;
# then dvcall's calibration: per QUAL bin, the share of PASS calls whose allele is false against
# what QUAL states (the mean of 10^(-QUAL/10)), and per GQ bin the share of true alleles with a
# wrong genotype against what GQ states.
# Needs: bwa, art_illumina, dwgsim, bcftools, freebayes (apt-get install bwa
# art-nextgen-simulation-tools dwgsim bcftools freebayes).
# Usage: bench/panel.sh [WORKDIR]     (about 20 minutes on 2 cores)
set -euo pipefail
work="${1:-bench/out/panel}"
dv="${DVCALL:-dvcall}"
mkdir -p "$work"
# name | seed | coverage | simulator options | in the default model's training data?
sets=(
  "HS25-30x|9101|30|--simulator art --art-profile HS25|yes"
  "HS25-8x|9102|8|--simulator art --art-profile HS25|yes"
  "HS25-60x|9103|60|--simulator art --art-profile HS25|yes"
  "HS25-15x-indels|9110|15|--simulator art --art-profile HS25 --indel-rate 5e-4|yes"
  "HSXt-30x|9104|30|--simulator art --art-profile HSXt|no"
  "HS20-2x100-15x|9105|15|--simulator art --art-profile HS20 --read-length 100|no"
  "MSv3-2x250-20x|9106|20|--simulator art --art-profile MSv3 --read-length 250|no"
  "NS50-2x75-30x|9107|30|--simulator art --art-profile NS50 --read-length 75|no"
  "dwgsim-low-15x|9108|15|--simulator dwgsim --dwgsim-error 0.001|yes"
  "dwgsim-rising-15x|9109|15|--simulator dwgsim --dwgsim-error 0.001-0.012|no"
  "dwgsim-rising-30x|9111|30|--simulator dwgsim --dwgsim-error 0.001-0.012|no"
)
for entry in "${sets[@]}"; do
  IFS='|' read -r name seed cov opts trained <<<"$entry"
  d="$work/$name"
  # shellcheck disable=SC2086
  [ -f "$d/reads.bam" ] || python -m dvcall.simulate --out "$d" --contigs 500000,500000 \
    --coverage "$cov" --seed "$seed" $opts >/dev/null
  echo "$trained" > "$d/trained"
  [ -f "$d/dvcall.vcf.gz" ] || "$dv" call --bam "$d/reads.bam" --ref "$d/ref.fa" \
    -o "$d/dvcall.vcf.gz" --quiet
  if [ ! -f "$d/bcftools.q20.vcf.gz" ]; then
    bcftools mpileup -Ou -f "$d/ref.fa" "$d/reads.bam" 2>/dev/null | bcftools call -mv -Oz \
      -o "$d/bcftools.vcf.gz" 2>/dev/null
    bcftools view -i 'QUAL>=20' -Oz -o "$d/bcftools.q20.vcf.gz" "$d/bcftools.vcf.gz"
  fi
  if [ ! -f "$d/freebayes.q20.vcf.gz" ]; then
    freebayes -f "$d/ref.fa" "$d/reads.bam" > "$d/freebayes.raw.vcf"
    bcftools view -i 'QUAL>=20' -Oz -o "$d/freebayes.q20.vcf.gz" "$d/freebayes.raw.vcf"
  fi
  for caller in dvcall bcftools.q20 freebayes.q20; do
    "$dv" evaluate --calls "$d/$caller.vcf.gz" --truth "$d/truth.vcf.gz" --ref "$d/ref.fa" \
      --json "$d/$caller.json" --roc "$d/$caller.roc.tsv" --errors "$d/$caller.errors.tsv" \
      $([ "$caller" = dvcall ] || echo --all-records) >/dev/null
  done
done
python "$(dirname "$0")/panel_table.py" "$work" "${sets[@]%%|*}"
