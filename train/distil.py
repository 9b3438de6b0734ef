"""Distillation: a fine-tuned teacher labels the unlabelled pool with soft labels.

The student then trains on gold one-hot targets plus the teacher's probabilities
(soft cross-entropy). Validation and test stay gold-only; the pool never holds a
sentence from them (see data/build.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from data.labels import LABELS
from model.ensemble import weights_hash


def teacher_probs(teachers: list[Path], pool, out: Path, temperature: float, device: str, dtype: str = "fp32"):
    """The teachers' mean (n, 5) probabilities on the pool, cached in the output folder.

    Each teacher's head already carries its calibration temperature, so T = 1
    gives calibrated soft labels; T > 1 softens them further. Several teachers
    make an ensemble: their probabilities are averaged.
    """
    import numpy as np

    from eval.stats import retemper
    from model.classifier import Classifier

    key = hashlib.sha256(json.dumps({
        "teacher": [weights_hash(Path(t)) for t in teachers], "pool": pool._fingerprint, "n": len(pool), "T": temperature,
        **({"dtype": dtype} if dtype != "fp32" else {}),  # fp32 keys match caches written before --dtype existed
    }).encode()).hexdigest()
    cache = out / "teacher_soft_labels.npz"
    if cache.is_file():
        saved = np.load(cache)
        if str(saved["key"]) == key:
            print(f"teacher soft labels: reusing {cache}")
            return saved["probs"]
    probs = np.mean([Classifier.load(t, device, dtype=dtype).predict_proba(
        pool["text"], pool["context"], progress=f"teacher {i + 1}/{len(teachers)} labels pool")
        for i, t in enumerate(teachers)], axis=0)
    if temperature != 1.0:
        probs = retemper(probs, 1 / temperature)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, probs=probs.astype(np.float32), key=key)
    os.replace(tmp, cache)
    return probs


def with_soft_targets(gold, pool, probs):
    """One training set: gold rows as one-hot targets, pool rows as teacher probabilities."""
    from datasets import Sequence, Value, concatenate_datasets

    n = len(LABELS)
    target = Sequence(Value("float32"), length=n)
    gold = gold.map(lambda b: {"target": [[float(i == y) for i in range(n)] for y in b["label"]]},
                    batched=True, remove_columns=["label"], features=None, desc="gold targets")
    pool = pool.add_column("target", [list(map(float, p)) for p in probs])
    cols = [c for c in gold.column_names if c in pool.column_names]
    both = concatenate_datasets([gold.select_columns(cols).cast_column("target", target),
                                 pool.select_columns(cols).cast_column("target", target)])
    return both.rename_column("target", "label")
