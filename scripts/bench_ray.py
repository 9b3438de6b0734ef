"""Throughput of predict.py's engines on the same real articles: local vs Ray Data with 1 and 2 workers.

    python scripts/bench_ray.py --model runs/model [--corpus ../shared/corpora/fnc1/train_bodies.csv] [--articles 400]

Each run is a fresh `predict.py` process, timed end to end (Ray's start-up included),
with the threads split evenly among the workers; it also checks every engine's
labels against the local engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpora/fnc1/train_bodies.csv"))
    ap.add_argument("--articles", type=int, default=400)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from data.readers import iter_articles

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        with open(src, "w") as f:
            for k, art in enumerate(iter_articles([args.corpus])):
                if k == args.articles:
                    break
                f.write(json.dumps({"id": art.id, "text": art.text}) + "\n")
        runs = [("local", [])] + [(f"ray, {n} worker{'s' * (n > 1)}", ["--engine", "ray", "--num-workers", str(n)])
                                  for n in args.workers]
        rows, ref = [], None
        for name, extra in runs:
            out = Path(tmp) / f"{len(rows)}.jsonl"
            cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(args.model), "--input", str(src),
                   "--output", str(out), "--quiet", "--threads", str(os.cpu_count() or 1)] + extra
            t = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True)
            dt = time.perf_counter() - t
            if res.returncode:
                sys.exit(f"error: {name}: {res.stderr.strip().splitlines()[-1]}")
            labels = [json.loads(line)["label"] for line in out.read_text().splitlines()]
            ref = ref or labels
            rows.append((name, len(labels), dt, labels == ref))
            print(f"{name}: {len(labels)} sentences in {dt:.1f}s", flush=True)
    print(f"\n{args.articles} real articles, {os.cpu_count()} CPU cores; wall time per run includes start-up\n")
    print("| engine | sentences/s | labels equal to local |\n|---|---|---|")
    for name, n, dt, same in rows:
        print(f"| {name} | {n / dt:.0f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
