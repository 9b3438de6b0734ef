"""Test macro-F1 against the number of gold training sentences, per recipe and seed.

    python scripts/learning_curve.py --data runs/data --out runs/curve \
        --recipe minilm=train/configs/default.yaml --recipe mpnet=train/configs/mpnet.yaml \
        --sizes 400 1500 --seeds 1 2 3 --epochs 8 [--dtype bf16]

Each point is one `python -m train --max-train-samples N --seed S` run: a seeded
random N of the training split, with validation and test whole. Only each run's
metrics.json is kept (in OUT/runs/), so a stopped curve continues where it
stopped. Writes OUT/learning_curve.json, .md and .png.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.cli import run  # noqa: E402
from data.cli import write_atomic  # noqa: E402
from eval.report import _figure, _png  # noqa: E402
from model.classifier import DTYPES  # noqa: E402


def one_run(args, name: str, config: Path, size: int, seed: int) -> dict:
    from data.readers import DataError

    record = args.out / "runs" / f"{name}-n{size}-s{seed}.json"
    if record.is_file():
        return json.loads(record.read_text())
    model_dir = args.out / "model-in-training"
    cmd = [sys.executable, "-m", "train", "--data", str(args.data), "--output-dir", str(model_dir), "--overwrite",
           "--config", str(config), "--max-train-samples", str(size), "--seed", str(seed),
           "--epochs", str(args.epochs), "--dtype", args.dtype, "--device", args.device]
    print(f"{name}, {size} sentences, seed {seed}", flush=True)
    res = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"training {name} (n={size}, seed={seed}) failed: {last}")
    metrics = json.loads((model_dir / "metrics.json").read_text())
    write_atomic(record, json.dumps(metrics, indent=2))
    shutil.rmtree(model_dir)
    return metrics


def curve(args) -> None:
    from data.readers import DataError

    recipes = {}
    for item in args.recipe:
        name, sep, path = item.partition("=")
        if not sep or not name or not Path(path).is_file():
            raise DataError(f"--recipe {item}: expected NAME=CONFIG_FILE with an existing config file")
        recipes[name] = Path(path).resolve()
    if min(args.sizes) < 1 or args.epochs <= 0:
        raise DataError("--sizes must be at least 1 and --epochs positive")
    args.out.mkdir(parents=True, exist_ok=True)

    rows = []
    for size in args.sizes:
        for name, config in recipes.items():
            scores = [one_run(args, name, config, size, seed)["test"]["test_macro_f1"] for seed in args.seeds]
            rows.append({"recipe": name, "train_sentences": size, "test_macro_f1": scores,
                         "mean": statistics.mean(scores), "sd": statistics.stdev(scores) if len(scores) > 1 else 0.0})
    write_atomic(args.out / "learning_curve.json", json.dumps(rows, indent=2))
    lines = ["| recipe | gold training sentences | test macro-F1, mean ± sd | per seed |", "|---|---|---|---|"]
    lines += [f"| {r['recipe']} | {r['train_sentences']} | {r['mean']:.3f} ± {r['sd']:.3f} | "
              f"{', '.join(f'{s:.3f}' for s in r['test_macro_f1'])} |" for r in rows]
    write_atomic(args.out / "learning_curve.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    write_atomic(args.out / "learning_curve.png", plot(rows))


def plot(rows: list[dict]) -> bytes:
    fig, ax = _figure((5, 3.5))
    for name in dict.fromkeys(r["recipe"] for r in rows):
        mine = [r for r in rows if r["recipe"] == name]
        ax.errorbar([r["train_sentences"] for r in mine], [r["mean"] for r in mine], yerr=[r["sd"] for r in mine],
                    marker="o", capsize=3, label=name)
    ax.set(xscale="log", xlabel="gold training sentences", ylabel="test macro-F1")
    ax.legend()
    return _png(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, type=Path, help="saved DatasetDict from `python -m data build`")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--recipe", action="append", required=True, help="NAME=CONFIG_FILE (repeat)")
    ap.add_argument("--sizes", type=int, nargs="+", required=True, help="gold training sentences per point")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=float, default=8, help="the same for every point (small sets need more)")
    ap.add_argument("--dtype", default="auto", choices=DTYPES)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args(argv)
    run(lambda: curve(args), debug=args.debug)


if __name__ == "__main__":
    main()
