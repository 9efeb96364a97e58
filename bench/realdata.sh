#!/usr/bin/env bash
# Real reads, no truth (../shared/realdata: HG002, 2x150, ~30x, GRCh37 20:10.0-10.1 Mb): dvcall's
# PASS records against bcftools `mpileup | call -mv` and freebayes (both QUAL >= 20) after
# normalising all three (bcftools norm -m -any); where the dvcall-only calls fall; Ti/Tv of
# dvcall's PASS SNPs; every dvcall PASS record with VAF < 0.15.
# Needs: bcftools, freebayes, samtools, bgzip (tabix). Usage: bench/realdata.sh [REALDATA_DIR] [WORKDIR]
set -euo pipefail
data="${1:-../shared/realdata}"
work="${2:-bench/out/realdata}"
dv="${DVCALL:-dvcall}"
mkdir -p "$work"
bam="$data/hg002.chr20_10M.bam"
ref="$data/grch37.chr20.fa.gz"
region="20:10000000-10100000"
"$dv" call --bam "$bam" --ref "$ref" -r "$region" -o "$work/dvcall.vcf.gz" --quiet
bcftools mpileup -Ou -f "$ref" -r "$region" "$bam" 2>/dev/null | bcftools call -mv -Oz \
  -o "$work/bcftools.vcf.gz" 2>/dev/null
# freebayes reads only a plain FASTA: the region's contig, decompressed
[ -f "$work/chr20.fa" ] || { bgzip -dc "$ref" > "$work/chr20.fa"; samtools faidx "$work/chr20.fa"; }
freebayes -f "$work/chr20.fa" -r 20:10000000-10100000 "$bam" | bgzip > "$work/freebayes.vcf.gz"
for caller in dvcall bcftools freebayes; do
  filter='QUAL>=20'
  [ "$caller" = dvcall ] && filter='FILTER="PASS"'
  bcftools view -i "$filter" "$work/$caller.vcf.gz" 2>/dev/null \
    | bcftools norm -f "$ref" -m -any 2>/dev/null \
    | bcftools query -f '%CHROM\t%POS\t%REF\t%ALT\n' > "$work/$caller.sites"
done
bcftools query -i 'FILTER="PASS"' -f '%CHROM\t%POS\t%REF\t%ALT\t%QUAL\t[%GT\t%AD\t%VAF]\n' \
  "$work/dvcall.vcf.gz" > "$work/dvcall.records"
python - "$work" <<'PY'
import sys
from pathlib import Path
work = Path(sys.argv[1])
sites = {c: {tuple(l.split("\t")) for l in (work / f"{c}.sites").read_text().splitlines()}
         for c in ("dvcall", "bcftools", "freebayes")}
d, b, f = sites["dvcall"], sites["bcftools"], sites["freebayes"]
print(f"PASS sites after normalising: dvcall {len(d)}, bcftools (QUAL>=20) {len(b)}, "
      f"freebayes (QUAL>=20) {len(f)}")
print(f"all three {len(d & b & f)}; dvcall+bcftools only {len((d & b) - f)}; dvcall+freebayes "
      f"only {len((d & f) - b)}; bcftools+freebayes only {len((b & f) - d)}; dvcall only "
      f"{len(d - b - f)}; bcftools only {len(b - d - f)}; freebayes only {len(f - d - b)}")
only = sorted(int(p) for _, p, _, _ in d - b - f)
clusters, start = [], None
for p in only:
    if start is None or p - last > 500:
        if start is not None:
            clusters.append((start, last, n))
        start, n = p, 0
    last, n = p, n + 1
if start is not None:
    clusters.append((start, last, n))
print("dvcall-only sites by stretch (within 500 bp): " + ", ".join(
    f"20:{a:,}-{z:,} ({n})" for a, z, n in clusters))
transitions = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}
snps = [(r, a) for _, _, r, a in d if len(r) == len(a) == 1]
ti = sum((r, a) in transitions for r, a in snps)
print(f"dvcall PASS SNPs: {len(snps)}, Ti/Tv {ti / max(len(snps) - ti, 1):.2f}")
low = []
for line in (work / "dvcall.records").read_text().splitlines():
    chrom, pos, ref, alt, qual, gt, ad, vaf = line.split("\t")
    if min(float(v) for v in vaf.split(",")) < 0.15:
        low.append(f"{chrom}:{pos} {ref}>{alt} QUAL {qual} GT {gt} AD {ad} VAF {vaf}")
print(f"dvcall PASS records with VAF < 0.15: {len(low)}")
for entry in low:
    print("  " + entry)
PY
