"""Benchmark the core: compile time, steady-state apply time and peak RSS per reference length.

Each size runs in its own process so peak RSS is that size's alone. Reads are 100 bp at 30x,
random bases and qualities, fed as int8 base codes with uint8 qualities (``--input codes``, what
the BAM reader produces) or as the seed's float32 one-hot ``(R, W, 4)`` with float32 qualities
(``--input onehot``).
Usage: python bench/core.py [--sizes 1e4,1e5,1e6] [--input codes|onehot] [--repeats 5]
"""

import argparse
import json
import resource
import subprocess
import sys
import time


def run_one(length: int, input_kind: str, repeats: int) -> dict:
    t0 = time.perf_counter()
    import jax
    import numpy as np

    import dvcall.pipelines as pipelines

    import_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    width, coverage = 100, 30
    num_reads = length * coverage // width
    codes = rng.integers(0, 4, size=(num_reads, width), dtype=np.int8)
    data = {
        "reads": codes if input_kind == "codes" else np.eye(4, dtype=np.float32)[codes],
        "positions": rng.integers(0, length - width, size=num_reads).astype(np.int32),
        "quality": rng.integers(2, 41, size=(num_reads, width)).astype(
            np.uint8 if input_kind == "codes" else np.float32
        ),
    }
    pipeline = pipelines.create_variant_calling_pipeline(reference_length=length)

    @jax.jit
    def probabilities(model, batch):
        result, _, _ = model.apply(batch, {}, None)
        return result["probabilities"]

    t0 = time.perf_counter()
    probabilities(pipeline, data).block_until_ready()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        probabilities(pipeline, data).block_until_ready()
        times.append(time.perf_counter() - t0)
    return {
        "length": length,
        "reads": num_reads,
        "import_s": import_s,
        "compile_s": compile_s,
        "apply_s": sorted(times)[len(times) // 2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": str(jax.devices()[0].platform),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--input", choices=("codes", "onehot"), default="codes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.input, args.repeats)))
        return
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import dvcall"], check=True)
    import_dvcall_s = time.perf_counter() - t0
    rows = []
    for size in args.sizes.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(int(float(size))), "--input", args.input,
             "--repeats", str(args.repeats)],
            check=True, capture_output=True, text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"input: {args.input}; `python -c 'import dvcall'`: {import_dvcall_s:.2f} s "
          f"(process start included); device: {rows[0]['device']}")
    print(f"| {'reference_length':>16} | {'reads':>8} | {'import jax+dvcall.pipelines s':>29} "
          f"| {'compile s':>9} | {'apply s':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 18}|{'-' * 10}|{'-' * 31}|{'-' * 11}|{'-' * 10}|{'-' * 13}|")
    for r in rows:
        print(f"| {r['length']:>16,} | {r['reads']:>8,} | {r['import_s']:>29.2f} "
              f"| {r['compile_s']:>9.2f} | {r['apply_s']:>8.3f} | {r['peak_rss_mb']:>11.0f} |")


if __name__ == "__main__":
    main()
