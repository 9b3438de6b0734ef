"""Whole-process speed: `stance-predict` as a user runs it, labels only vs labels + spans.

    python scripts/bench_process.py --model runs/quickstart/model \
        [--corpus ../shared/corpora/fnc1/train_bodies.csv] [--articles 400] [--runs 2]

Each run is a fresh `scripts/predict.py` process over the same real articles
(start, imports, model load, reading, segmentation, labelling, writing), timed
by the wall clock. The first run of each setting is cold (files not yet in the
page cache), the others warm. Prints the CPU's features beside the figures,
since speed depends on them (AVX512-VNNI/BF16/AMX or AVX2 only).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
def articles_file(corpus: Path, n: int, out: Path) -> Path:
    csv.field_size_limit(1 << 24)
    with open(corpus, newline="", encoding="utf-8") as f, open(out, "w", newline="", encoding="utf-8") as g:
        rows = csv.reader(f)
        w = csv.writer(g)
        w.writerow(next(rows))
        for k, row in enumerate(rows):
            if k == n:
                break
            w.writerow(row)
    return out


def one_run(model: Path, inputs: Path, out: Path, extra: list[str]) -> tuple[float, int]:
    cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(model), "--input", str(inputs),
           "--output", str(out), "--overwrite", "--quiet", *extra]
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"error: {' '.join(cmd)} failed: {res.stderr.strip().splitlines()[-1]}")
    return seconds, sum(1 for _ in open(out, encoding="utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "fnc1" / "train_bodies.csv")
    ap.add_argument("--articles", type=int, default=400)
    ap.add_argument("--runs", type=int, default=2, help="runs per setting; the first is cold")
    args = ap.parse_args()

    settings = {"labels only (--no-spans)": ["--no-spans"], "labels + spans (default)": []}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = articles_file(args.corpus, args.articles, Path(tmp) / "articles.csv")
        results = {}
        for name, extra in settings.items():
            runs = [one_run(args.model, inputs, Path(tmp) / "out.jsonl", extra) for _ in range(args.runs)]
            results[name] = runs
            print(f"{name}: " + ", ".join(f"{s:.1f}s" for s, _ in runs), flush=True)
    n = next(iter(results.values()))[0][1]
    from model.paths import describe_cpu

    print(f"\n{args.articles} articles of {args.corpus.name}, {n} sentences; {describe_cpu()}\n")
    print("| setting | cold run s | best warm run s | sentences/s (warm) |")
    print("|---|---|---|---|")
    best = {}
    for name, runs in results.items():
        warm = min(s for s, _ in runs[1:]) if len(runs) > 1 else runs[0][0]
        best[name] = warm
        print(f"| {name} | {runs[0][0]:.1f} | {warm:.1f} | {n / warm:.0f} |")
    a, b = best.values()
    print(f"\nspans cost {b / a:.2f}x the time of labels alone (budget 2x)")


if __name__ == "__main__":
    main()
