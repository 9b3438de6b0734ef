"""Inference benchmark: the same real sentences through five paths, in one run.

    python scripts/bench_inference.py --model runs/model --data runs/data \
        [--corpus ../shared/corpora/fnc1/train_bodies.csv] [--sentences 5000] [--repeats 2]

(a) pipeline(), one sentence at a time   (b) pipeline() with batch_size
(c) the project's torch path             (d) ONNX fp32        (e) ONNX int8
(f) the torch path with bf16 weights (fast only on CPUs with AVX512-BF16 or AMX)
(c)-(f) run predict.py's path: repeated sentences (wire copy) are scored once.
Each path runs in its own process (so peak RSS is its own): it loads its model
once, warms up, then labels the same input `--repeats` times (model loading is
not timed; it is a one-off cost). It prints sentences/s (best run), peak RSS,
the speed-up over (a), agreement with (c)'s labels, and macro-F1 on the test split.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PATHS = {"a": "pipeline, 1 at a time", "b": "pipeline, batch_size", "c": "project torch path",
         "d": "ONNX fp32", "e": "ONNX int8", "f": "torch bf16"}


def load_inputs(corpus: Path, n: int):
    from data.readers import iter_articles
    from data.segment import segment

    texts, contexts = [], []
    for art in iter_articles([corpus]):
        sents = segment(art.text)
        for k, s in enumerate(sents):
            texts.append(s.text)
            contexts.append(sents[k - 1].text if k else "")
        if len(texts) >= n:
            break
    return texts[:n], contexts[:n]


def labeller(path: str, model: str, batch_size: int | None):
    """Load path's model once; return texts, contexts -> labels."""
    from data.labels import LABELS

    if path in "ab":
        import torch
        from transformers import pipeline

        torch.set_num_threads(__import__("os").cpu_count())
        clf = pipeline("text-classification", model=model, device="cpu", truncation=True)
        settings = Path(model, "stance_config.json")
        use_context = json.loads(settings.read_text()).get("use_context", True) if settings.exists() else True

        def top(r):  # a plain string gives [dict], a {"text", "text_pair"} input gives a dict
            return r["label"] if isinstance(r, dict) else r[0]["label"]

        def label(texts, contexts):
            # feed the pipeline what the model was trained on, as a user following the model card would
            inputs = [{"text": t, "text_pair": c} if c and use_context else t for t, c in zip(texts, contexts)]
            if path == "a":
                return [top(clf(x)) for x in inputs]
            return [top(r) for r in clf(inputs, batch_size=batch_size or 64)]

        return label
    if path in "cf":
        from model.classifier import Classifier

        clf = Classifier.load(model, "cpu", "bf16" if path == "f" else "fp32")
    else:
        from model.onnx_backend import OnnxClassifier

        clf = OnnxClassifier.load(model, quantize="int8" if path == "e" else None)
    from model.predict import DedupCache

    def label(texts, contexts):  # what predict.py runs: each distinct sentence is scored once
        return [LABELS[int(p.argmax())] for p in DedupCache(clf, batch_size)(texts, contexts)]

    return label


def child(args) -> None:
    """One path in this process: warm-up, timed repeats, test-split predictions."""
    import resource

    from data.build import load_built
    from data.labels import LABELS
    from eval.metrics import score

    texts, contexts = load_inputs(args.corpus, args.sentences)
    label = labeller(args.path, str(args.model), args.batch_size)
    label(texts[:64], contexts[:64])  # warm-up
    times, labels = [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        labels = label(texts, contexts)
        times.append(time.perf_counter() - t0)
    test = load_built(args.data, need=("test",))["test"]
    pred = label(test["text"], test["context"])
    f1 = score([LABELS.index(p) for p in pred], test["label"])["macro_f1"]
    print(json.dumps({"path": args.path, "n": len(texts), "repeated": len(texts) - len(set(texts)),
                      "best_s": min(times), "times": times,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "labels": labels, "macro_f1": f1}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--data", required=True, type=Path, help="DatasetDict whose test split gives macro-F1")
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpora/fnc1/train_bodies.csv"))
    ap.add_argument("--sentences", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None, help="default: each path's own (64; int8 16)")
    ap.add_argument("--paths", default="abcdef")
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.path:
        return child(args)

    if set(args.paths) & set("de"):
        from model.onnx_backend import export, onnx_path

        if not onnx_path(args.model, "int8").exists():
            export(args.model, "int8")
    results = {}
    for p in args.paths:
        cmd = [sys.executable, __file__, "--model", str(args.model), "--data", str(args.data), "--corpus", str(args.corpus),
               "--sentences", str(args.sentences), "--repeats", str(args.repeats), "--path", p]
        cmd += ["--batch-size", str(args.batch_size)] if args.batch_size else []
        print(f"running ({p}) {PATHS[p]} ...", flush=True)
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            sys.exit(f"error: path {p} failed: {res.stderr.strip().splitlines()[-1]}")
        results[p] = json.loads(res.stdout.strip().splitlines()[-1])

    ref = results.get("c")
    base = results.get("a")
    first = next(iter(results.values()))
    print(f"\n{first['n']} real sentences ({first['repeated']} repeat an earlier one), "
          f"best of {args.repeats} runs after warm-up\n")
    print("| path | sentences/s | vs (a) | peak RSS MB | labels = (c) | test macro-F1 |")
    print("|---|---|---|---|---|---|")
    for p, r in results.items():
        rate = r["n"] / r["best_s"]
        ratio = f"{rate / (base['n'] / base['best_s']):.1f}x" if base else "-"
        agree = f"{sum(x == y for x, y in zip(r['labels'], ref['labels'])) / r['n']:.4f}" if ref else "-"
        print(f"| ({p}) {PATHS[p]} | {rate:.0f} | {ratio} | {r['peak_rss_mb']:.0f} | {agree} | {r['macro_f1']:.3f} |")
    if args.out:
        args.out.write_text(json.dumps({p: {k: v for k, v in r.items() if k != "labels"} for p, r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
