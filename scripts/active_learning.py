"""Simulated active learning on the real gold: does asking for uncertain sentences beat random ones?

    python scripts/active_learning.py --data runs/data_v2 --work work/al \
        --seed-size 1000 --budgets 500 1500 --strategies random margin --seeds 1

The training split's real articles are shuffled; the first ones give the seed set
(--seed-size sentences), the rest are the pool, whose gold labels stay hidden until a
strategy picks a sentence (that is the simulated annotator). Each strategy grows its
own labelled set step by step: at each budget it scores the rest of the pool with the
model of the previous step, picks with data.select (de-duplicated, at most
--per-article per article and step, round-robin), and retrains on seed + picks with the
quick recipe. Authored text is left out, so every sentence is real news; every score is
validation macro-F1 on the whole real validation split (the test split is not used).
Each run keeps its metrics in WORK/runs/, so a stopped simulation continues.
"""

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.cli import ArgumentParser, run  # noqa: E402
from data.select import STRATEGIES  # noqa: E402


def seed_and_pool(train: dict, size: int, seed: int) -> tuple[list[int], list[int]]:
    """Row indices of the seed set and of the pool: disjoint real articles."""
    by_article = defaultdict(list)
    for i, (src, aid) in enumerate(zip(train["source"], train["article_id"])):
        if src != "authored":
            by_article[src, aid].append(i)
    keys = sorted(by_article)
    random.Random(seed).shuffle(keys)
    seed_rows, pool = [], []
    for k in keys:
        (seed_rows if len(seed_rows) < size else pool).extend(by_article[k])
    return seed_rows[:size], pool  # the last seed article's extra rows are simply unused


def train_on(args, name: str, dd, train: dict, rows: list[int], seed: int) -> dict:
    """Train the quick recipe on `rows`; the metrics are cached in WORK/runs/NAME.json."""
    from datasets import DatasetDict

    from data.readers import DataError

    record = args.work / "runs" / f"{name}.json"
    model_dir = args.work / "models" / name
    if record.is_file():  # the next step's picks need this model only while that step has no record
        return json.loads(record.read_text())
    data_dir = args.work / "data" / name
    # No test split: the simulation must never see it.
    DatasetDict({"train": dd["train"].select(rows), "validation": dd["validation"]}).save_to_disk(str(data_dir))
    cmd = [sys.executable, "-m", "train", "--data", str(data_dir), "--output-dir", str(model_dir), "--overwrite",
           "--config", str(args.config), "--dtype", args.dtype, "--seed", str(seed), "--device", "cpu", "--no-spans"]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    print(f"training {name} on {len(rows)} sentences", flush=True)
    started = time.time()
    env = {**os.environ, **({"OMP_NUM_THREADS": str(args.threads)} if args.threads else {})}
    res = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"training {name} failed: {last}")
    shutil.rmtree(data_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    labels = dd["train"].features["label"].names
    out = {"name": name, "train_sentences": len(rows), "seconds": round(time.time() - started, 1),
           "validation_macro_f1": metrics["validation"]["validation_macro_f1"],
           "validation_accuracy": metrics["validation"].get("validation_accuracy"),
           "labels": dict(Counter(labels[train["label"][i]] for i in rows)), "rows": rows}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(out))
    print(f"  validation macro-F1 {out['validation_macro_f1']:.3f} ({out['seconds']:.0f}s)", flush=True)
    return out


def pick(args, strategy: str, model_dir: Path, train: dict, pool: list[int], labelled: list[int], n: int, seed: int):
    """`n` pool rows by `strategy`, scored by the model trained on `labelled`."""
    import numpy as np

    from data.select import priority, select

    taken = set(labelled)
    left = [i for i in pool if i not in taken]
    texts = [train["text"][i] for i in left]
    if strategy == "random":
        probs = np.zeros((len(left), 1))
    else:
        from model.classifier import Classifier

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        clf = Classifier.load(model_dir, "cpu", args.dtype)
        probs = clf.predict_proba(texts, [train["context"][i] for i in left])
    scores = priority(strategy, probs, seed=seed + len(labelled))
    items = [{"article": (train["source"][i], train["article_id"][i]), "text": t} for i, t in zip(left, texts)]
    chosen = select(items, scores, n, args.per_article, exclude_texts=[train["text"][i] for i in labelled])
    if len(chosen) < n:
        print(f"  note: only {len(chosen)} of {n} could be picked (per-article cap or duplicates)", flush=True)
    return [left[j] for j in chosen]


def simulate(args) -> None:
    from data.build import load_built
    from data.readers import DataError

    if sorted(args.budgets) != args.budgets or args.budgets[0] < 1:
        raise DataError("--budgets must be positive and increasing, e.g. 500 1500")
    bad = [s for s in args.strategies if s not in STRATEGIES or s == "disagree"]
    if bad:
        raise DataError(f"--strategies {' '.join(bad)}: the simulation runs random, uncertain and margin")
    import datasets

    datasets.disable_progress_bars()
    dd = load_built(args.data)
    # plain lists: datasets' row access is far too slow for pool-sized loops
    train = {k: list(dd["train"][k]) for k in ("text", "context", "source", "article_id", "label")}
    results = []
    for seed in args.seeds:
        seed_rows, pool = seed_and_pool(train, args.seed_size, seed)
        print(f"seed {seed}: {len(seed_rows)} seed sentences, {len(pool)} in the pool", flush=True)
        base = train_on(args, f"seed{args.seed_size}-s{seed}", dd, train, seed_rows, seed)
        results.append({**base, "strategy": "seed set", "added": 0, "seed": seed})
        for strategy in args.strategies:
            labelled, model_name, done = list(seed_rows), base["name"], 0
            for budget in args.budgets:
                name = f"{strategy}-plus{budget}-s{seed}"
                record = args.work / "runs" / f"{name}.json"
                if record.is_file():
                    labelled = json.loads(record.read_text())["rows"]
                else:
                    labelled = labelled + pick(args, strategy, args.work / "models" / model_name, train, pool,
                                               labelled, budget - done, seed)
                res = train_on(args, name, dd, train, labelled, seed)
                results.append({**res, "strategy": strategy, "added": budget, "seed": seed})
                model_name, done = name, budget
    report(args, results)


def report(args, results: list[dict]) -> None:
    from data.cli import write_atomic

    rare = ("disputed", "official_figure", "unverified")
    lines = [
        "# Active learning, simulated on the real gold (issue 19)",
        "",
        f"`python scripts/active_learning.py --data {args.data} --seed-size {args.seed_size} --budgets "
        f"{' '.join(map(str, args.budgets))} --strategies {' '.join(args.strategies)} --seeds "
        f"{' '.join(map(str, args.seeds))} --per-article {args.per_article}` (recipe `{args.config.relative_to(ROOT)}`, "
        f"--dtype {args.dtype}, 2-core CPU).",
        "",
        "Scores: macro-F1 on the **real validation split** of the built dataset (all of it: FNC-1, Reuters and "
        "seed-article sentences; never the test split). Training text: real news only (the authored corpus is left out). "
        "The pool is the training split's real articles outside the seed set; its gold labels play the annotator. "
        "Validation also picks each run's best epoch and fits its temperature, as in every project run, "
        "so all numbers share that slight optimism. "
        f"{sum(r['seconds'] for r in results) / 60:.0f} min of training and evaluation in all, one run at a time "
        "(seconds below include a concurrent job on the other core).",
        "",
        "| strategy | seed | sentences added | training sentences | validation macro-F1 | "
        + " | ".join(f"{lab} in training set" for lab in rare) + " | train+eval seconds |",
        "|---|---|---|---|---|" + "---|" * len(rare) + "---|",
    ]
    for r in results:
        lines.append(f"| {r['strategy']} | {r['seed']} | {r['added']} | {r['train_sentences']} | "
                     f"{r['validation_macro_f1']:.3f} | " + " | ".join(str(r["labels"].get(lab, 0)) for lab in rare)
                     + f" | {r['seconds']:.0f} |")
    lines += ["", "Mean over seeds (the seed-set row is shared by every strategy):", "",
              "| sentences added | " + " | ".join(["seed set", *args.strategies]) + " | seeds |",
              "|---|" + "---|" * (len(args.strategies) + 2)]
    for added in [0, *args.budgets]:
        cells = []
        for strategy in ["seed set", *args.strategies]:
            f1 = [r["validation_macro_f1"] for r in results if r["strategy"] == strategy and r["added"] == added]
            cells.append(f"{statistics.mean(f1):.3f}" + (f" ± {statistics.stdev(f1):.3f}" if len(f1) > 1 else "")
                         if f1 else "")
        lines.append(f"| {added} | " + " | ".join(cells) + f" | {len(args.seeds)} |")
    f1 = {(r["strategy"], r["added"], r["seed"]): r["validation_macro_f1"] for r in results}
    for strategy in [s for s in args.strategies if s != "random" and "random" in args.strategies]:
        for added in args.budgets:
            diffs = [f1[strategy, added, s] - f1["random", added, s] for s in args.seeds]
            lines.append(f"\n{strategy} - random at +{added}, paired by seed: {statistics.mean(diffs):+.3f} "
                         f"(better in {sum(d > 0 for d in diffs)} of {len(diffs)} seeds).")
    write_atomic(args.out, "\n".join(lines) + "\n")
    write_atomic(args.out.with_suffix(".json"),
                 json.dumps([{k: v for k, v in r.items() if k != "rows"} for r in results], indent=2) + "\n")
    print("\n".join(lines[7:]))
    print(f"-> {args.out}")


def main() -> None:
    ap = ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("runs/data_v2"), help="built DatasetDict (stance-build)")
    ap.add_argument("--work", type=Path, default=ROOT / "work" / "al", help="folder for subsets, models and run records")
    ap.add_argument("--config", type=Path, default=ROOT / "train" / "configs" / "quickstart.yaml", help="training recipe")
    ap.add_argument("--seed-size", type=int, default=1000, help="labelled sentences to start from")
    ap.add_argument("--budgets", type=int, nargs="+", default=[500, 1500],
                    help="cumulative sentences added by each strategy, one retraining per value")
    ap.add_argument("--strategies", nargs="+", default=["random", "margin"], help="random, uncertain and/or margin")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="simulation seeds (seed set, random picks, training)")
    ap.add_argument("--per-article", type=int, default=3, help="at most this many picks per article and step")
    ap.add_argument("--epochs", type=float, default=3, help="epochs per retraining (replaces quickstart.yaml's step "
                    "budget, which is sized for the whole gold; the recorded results used 3)")
    ap.add_argument("--dtype", default="bf16", choices=["fp32", "bf16"], help="training and scoring precision on CPU")
    ap.add_argument("--out", type=Path, default=ROOT / "scripts" / "active_learning_results.md",
                    help="results table (.md; .json beside it)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads per training (OMP_NUM_THREADS); 1 is "
                    "much faster than 2 when another job already keeps one of two cores busy")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args()
    args.config = args.config.resolve()
    run(lambda: simulate(args), debug=args.debug)


if __name__ == "__main__":
    main()
