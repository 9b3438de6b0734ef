"""Whole-process speed: `stance-predict` as a user runs it, and where its time goes.

    python scripts/bench_process.py --model runs/quickstart/model \
        [--corpus ../shared/corpora/fnc1/train_bodies.csv] [--articles 400] [--runs 2]

Each run is a fresh `scripts/predict.py` process over the same real articles
(start, imports, model load, reading, segmentation, labelling, spans, writing),
timed by the wall clock and broken down by predict's own `--timings`. The first
run of each setting is cold (files not yet in the page cache), the others warm.
Settings: the default (no speed flags: `--backend auto`, labels + spans), the
default without spans, and plain torch fp32. The reference is the naive
pipeline (`pipeline(...)`, one sentence at a time, model preloaded), measured
in this process on the first --naive sentences. Prints the CPU's features
beside the figures, since speed depends on them (AVX512-VNNI/BF16/AMX or AVX2 only).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = {
    "default (auto, labels + spans)": [],
    "default, labels only (--no-spans)": ["--no-spans"],
    "torch fp32, labels only": ["--backend", "torch", "--dtype", "fp32", "--no-spans"],
}


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


def one_run(model: Path, inputs: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(model), "--input", str(inputs),
           "--output", str(out), "--overwrite", "--quiet", "--timings", *extra]
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"error: {' '.join(cmd)} failed: {res.stderr.strip().splitlines()[-1]}")
    lines = res.stderr.splitlines()
    stages = json.loads(next(l for l in lines if l.startswith("timings: "))[len("timings: "):])
    path = next((l[len("inference path: "):] for l in lines if l.startswith("inference path: ")), "as given")
    n = sum(1 for _ in open(out, encoding="utf-8"))
    return {"seconds": seconds, "n": n, "stages": stages, "path": path}


def naive_rate(model: Path, out_jsonl: Path, n: int) -> float:
    """Sentences/s of the plain Hugging Face pipeline, one sentence per call, model already loaded."""
    from transformers import pipeline

    texts = [json.loads(l)["text"] for _, l in zip(range(n), open(out_jsonl, encoding="utf-8"))]
    clf = pipeline("text-classification", model=str(model), device="cpu")
    clf(texts[0], truncation=True)
    t0 = time.perf_counter()
    for t in texts:
        clf(t, truncation=True)
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path, help="model directory (stance-train)")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "fnc1" / "train_bodies.csv",
                    help="CSV of real articles (Body ID, articleBody)")
    ap.add_argument("--articles", type=int, default=400, help="how many articles of --corpus")
    ap.add_argument("--runs", type=int, default=2, help="runs per setting; the first is cold")
    ap.add_argument("--naive", type=int, default=1000, help="sentences for the naive pipeline's rate")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        inputs = articles_file(args.corpus, args.articles, Path(tmp) / "articles.csv")
        results = {}
        for name, extra in SETTINGS.items():
            results[name] = [one_run(args.model, inputs, Path(tmp) / "out.jsonl", extra) for _ in range(args.runs)]
            print(f"{name}: {results[name][0]['path']}; " + ", ".join(f"{r['seconds']:.1f}s" for r in results[name]),
                  flush=True)
        naive = naive_rate(args.model, Path(tmp) / "out.jsonl", args.naive)
    from model.paths import describe_cpu

    n = results[next(iter(SETTINGS))][0]["n"]
    print(f"\n{args.articles} articles of {args.corpus.name}, {n} sentences; {describe_cpu()}")
    print(f"naive pipeline (one sentence per call, model preloaded): {naive:.0f} sentences/s\n")
    print("| setting | path | cold s | warm s | sentences/s (warm) | vs naive |")
    print("|---|---|---|---|---|---|")
    best = {}
    for name, runs in results.items():
        warm = min(runs[1:] or runs, key=lambda r: r["seconds"])
        best[name] = warm
        rate = n / warm["seconds"]
        print(f"| {name} | {warm['path']} | {runs[0]['seconds']:.1f} | {warm['seconds']:.1f} | {rate:.0f} | "
              f"{rate / naive:.1f}x |")
    stages = {k for r in best.values() for k in r["stages"]}
    order = [k for k in ("start + imports", "checks", "path choice (+ one-off ONNX export)", "model load",
                         "read + segment", "label", "spans", "write") if k in stages]
    print("\nWhere the time goes (warm run, seconds):\n")
    print("| setting | " + " | ".join(order) + " | rest | wall |")
    print("|---|" + "---|" * (len(order) + 2))
    for name, r in best.items():
        parts = [r["stages"].get(k, 0.0) for k in order]
        print(f"| {name} | " + " | ".join(f"{x:.1f}" for x in parts) +
              f" | {r['seconds'] - sum(parts):.1f} | {r['seconds']:.1f} |")
    a, b = best["default, labels only (--no-spans)"]["seconds"], best["default (auto, labels + spans)"]["seconds"]
    if (args.model / "spans" / "config.json").is_file():
        print(f"\nspans cost {b / a:.2f}x the time of labels alone (budget 2x)")
    else:
        print(f"\n{args.model} has no span model: the default run labels only (the two runs differ by noise)")


if __name__ == "__main__":
    main()
