"""Peak memory of scripts/predict.py as the input grows (streaming check).

    python scripts/bench_memory.py [--model DIR] [--sizes 10000 1000000]

Writes synthetic JSONL archives of team-written, numbered sentences (all
distinct, so de-duplication cannot hide anything), runs predict.py on each in a
fresh process and prints its peak RSS. Without --model a tiny random BERT is
used: streaming memory does not depend on model size, and it keeps a
1,000,000-sentence run to minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    "The ministry said {n} households in district {m} had been evacuated.",
    "Residents of block {m} said they had waited {n} hours for water.",
    "The company denied that {n} workers at plant {m} had been laid off.",
    "Reports that {n} ships had left port {m} could not be confirmed.",
    "The river at gauge {m} rose by {n} centimetres overnight.",
]


def write_archive(path: Path, sentences: int, per_article: int = 10) -> None:
    with open(path, "w") as f:
        for a in range(0, sentences, per_article):
            body = " ".join(TEMPLATES[(a + k) % len(TEMPLATES)].format(n=a + k, m=(a + k) % 997)
                            for k in range(min(per_article, sentences - a)))
            f.write(json.dumps({"id": f"a{a}", "text": body}) + "\n")


def tiny_model(path: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from data.labels import ID2LABEL, LABEL2ID
    from model.backbone import minilm_dir

    tok = AutoTokenizer.from_pretrained(minilm_dir())
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, num_labels=5, id2label=ID2LABEL, label2id=LABEL2ID)
    BertForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or tiny_model(tmp / "tiny")
        rows = []
        for n in args.sizes:
            src, out = tmp / f"in{n}.jsonl", tmp / f"out{n}.jsonl"
            write_archive(src, n)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            cmd = [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(model), "--input", str(src),
                   "--output", str(out), "--quiet"]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"error: {res.stderr.strip().splitlines()[-1]}")
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            # ru_maxrss of children is a running maximum, so sizes must grow for each to be its own
            rows.append((n, peak / 1024, peak > before))
            print(f"{n:>9,} sentences: peak RSS {peak / 1024:.0f} MB", flush=True)
        base = rows[0][1]
        for n, mb, _ in rows[1:]:
            print(f"{n:,} vs {rows[0][0]:,}: {mb / base:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
