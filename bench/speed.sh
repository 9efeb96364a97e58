#!/usr/bin/env bash
# Speed benchmark: dvcall call (--threads 1 and 2, and --threads 1 with --gvcf) vs bcftools
# mpileup|call and freebayes on one
# simulated BAM (default 10 Mb over 3 contigs, 30x 2x150 art_illumina reads, bwa mem).
# Runs alternate between tools; each is timed REPEATS times (default 3) with /usr/bin/time -v;
# the table gives median wall seconds, seconds per Mb, peak RSS and ratios to bcftools, then
# dvcall's per-stage breakdown (--timings), jit compilations and executables loaded per run, and
# the gVCF's records per Mb and size beside bcftools' own gVCF (mpileup -g 10,20,30 | call -m -g
# 10,20,30) of the same BAM.
# Needs: bwa, art_illumina, bcftools, freebayes, GNU time (apt-get install bwa
# art-nextgen-simulation-tools bcftools freebayes time).
# Usage: bench/speed.sh [WORKDIR] [CONTIG_LENGTHS] [REPEATS]
set -euo pipefail
work="${1:-bench/out/speed}"
contigs="${2:-4000000,3000000,3000000}"
repeats="${3:-3}"
dv="${DVCALL:-dvcall}"
mkdir -p "$work"
d="$work/sim"
[ -f "$d/reads.bam" ] || python -m dvcall.simulate --out "$d" --contigs "$contigs" \
  --coverage 30 --seed 4242 --simulator art >/dev/null 2>&1
mb=$(python -c "print(sum(int(x) for x in '$contigs'.split(','))/1e6)")
# warm the cache of compiled executables once (a user's second run of the day)
"$dv" call --bam "$d/reads.bam" --ref "$d/ref.fa" --threads 2 -o /dev/null --quiet

run() {  # name command...
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.$i.time" bash -c "$*" >/dev/null 2>&1
}
for i in $(seq 1 "$repeats"); do
  run dvcall_t1 "$dv call --bam $d/reads.bam --ref $d/ref.fa -o $work/t1.vcf.gz --quiet --threads 1 --timings $work/dvcall_t1.$i.json"
  run bcftools "bcftools mpileup -f $d/ref.fa $d/reads.bam -Ou | bcftools call -mv -Oz -o $work/bcftools.vcf.gz"
  run dvcall_t2 "$dv call --bam $d/reads.bam --ref $d/ref.fa -o $work/t2.vcf.gz --quiet --threads 2 --timings $work/dvcall_t2.$i.json"
  run freebayes "freebayes -f $d/ref.fa $d/reads.bam > $work/freebayes.vcf"
  run dvcall_gvcf "$dv call --bam $d/reads.bam --ref $d/ref.fa -o $work/g.vcf.gz --gvcf $work/g.g.vcf.gz --quiet --threads 1 --timings $work/dvcall_gvcf.$i.json"
done
[ -f "$work/bcftools.g.vcf.gz" ] || bcftools mpileup -g 10,20,30 -f "$d/ref.fa" "$d/reads.bam" \
  -Ou 2>/dev/null | bcftools call -m -g 10,20,30 -Oz -o "$work/bcftools.g.vcf.gz" 2>/dev/null
same=$(cmp -s <(zcat "$work/t1.vcf.gz" | grep -v '^##dvcallCommand') \
              <(zcat "$work/t2.vcf.gz" | grep -v '^##dvcallCommand') && echo yes || echo NO)
python - "$work" "$mb" "$repeats" "$same" <<'PY'
import json, re, statistics, sys
from pathlib import Path
work, mb, repeats, same = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def parse(path):
    text = path.read_text()
    h, m, s = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text).groups()
    wall = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", text).group(1))
              for kind in ("User", "System"))
    return wall, rss / 1024, cpu
rows = {}
for name in ("dvcall_t1", "dvcall_t2", "dvcall_gvcf", "bcftools", "freebayes"):
    runs = [parse(work / f"{name}.{i}.time") for i in range(1, repeats + 1)]
    rows[name] = (statistics.median(w for w, _, _ in runs), max(r for _, r, _ in runs),
                  statistics.median(c for _, _, c in runs))
base = rows["bcftools"][0]
print(f"{mb:g} Mb, 30x; medians of {repeats}; --threads 2 output identical to --threads 1: {same}")
print("| caller | wall s | s per Mb | CPU s (user+sys) | CPU s per Mb | peak RSS MB "
      "| wall / bcftools |")
print("|---|---|---|---|---|---|---|")
for name, (wall, rss, cpu) in rows.items():
    print(f"| {name} | {wall:.1f} | {wall / mb:.2f} | {cpu:.1f} | {cpu / mb:.2f} | {rss:.0f} "
          f"| {wall / base:.2f} |")
print(f"\n--threads 2 speed-up over --threads 1: {rows['dvcall_t1'][0] / rows['dvcall_t2'][0]:.2f}x")
print(f"--gvcf adds {rows['dvcall_gvcf'][0] / rows['dvcall_t1'][0] - 1:.0%} wall time "
      "(--threads 1)")
import gzip
for label, path in (("dvcall --gvcf", work / "g.g.vcf.gz"),
                    ("bcftools -g 10,20,30", work / "bcftools.g.vcf.gz")):
    with gzip.open(path, "rt") as fh:
        records = sum(1 for line in fh if not line.startswith("#"))
    print(f"{label}: {records / mb:,.0f} records per Mb, {path.stat().st_size / mb / 1e6:.2f} MB "
          "per Mb")
for name in ("dvcall_t1", "dvcall_t2", "dvcall_gvcf"):
    stages = [json.loads((work / f"{name}.{i}.json").read_text()) for i in range(1, repeats + 1)]
    med = {k: statistics.median(s["seconds"][k] for s in stages) for k in stages[0]["seconds"]}
    comp = [s["jit_compilations"] for s in stages]
    loads = [s.get("executables_loaded", 0) for s in stages]
    print(f"{name} stages (median s; summed over threads): " +
          ", ".join(f"{k} {v:.1f}" for k, v in med.items()) +
          f"; jit compilations per run: {comp}; executables loaded from the cache: {loads}")
PY
