"""Evaluation inputs: a split of a saved DatasetDict, or a labelled JSONL file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from data.labels import LABELS
from data.readers import DataError


@dataclass
class EvalSet:
    texts: list[str]
    contexts: list[str]
    labels: list[int]
    sources: list[str]
    train_labels: list[int] = field(default_factory=list)  # for the majority baseline
    name: str = ""
    articles: list[str] = field(default_factory=list)
    spans: list[dict | None] = field(default_factory=list)  # gold spans where known (stance-build data only)


def load_eval_set(path: Path, split: str = "test") -> EvalSet:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if not path.is_dir() and path.suffix.lower() != ".jsonl":
        raise DataError(f"{path}: --data takes a DatasetDict folder (stance-build) or a gold JSONL file of "
                        '{"text", "label"[, "context"]} records; to label unlabelled articles use stance-predict')
    if path.is_dir():
        from data.build import load_built

        dd = load_built(path, need=())
        if split not in dd:
            raise DataError(f"{path}: no split {split!r}; splits are {', '.join(dd)}")
        ds = dd[split]
        train = dd["train"]["label"] if "train" in dd else []
        from eval.spans import gold_spans

        spans = gold_spans(ds) if "spans_known" in ds.column_names else []
        return EvalSet(ds["text"], ds["context"], ds["label"], ds["source"], train, f"{path}[{split}]",
                       ds["article_id"], spans)
    texts, contexts, labels, sources = [], [], [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path}:{lineno}: not a JSON line; gold files hold one {{\"text\", \"label\"}} "
                            "object per line") from None
        missing = [k for k in ("text", "label") if not isinstance(rec, dict) or k not in rec]
        if missing:
            keys = ", ".join(map(repr, rec)) if isinstance(rec, dict) else type(rec).__name__
            raise DataError(f"{path}:{lineno}: record lacks {' and '.join(map(repr, missing))} (it has {keys}); "
                            'gold records need "text" and "label", optionally "context"')
        label = rec["label"]
        texts.append(str(rec["text"]))
        if label not in LABELS:
            raise DataError(f"{path}:{lineno}: unknown label {label!r}; expected one of {', '.join(LABELS)}")
        labels.append(LABELS.index(label))
        contexts.append(str(rec.get("context") or ""))
        sources.append(str(rec.get("source") or path.stem))
    if not texts:
        raise DataError(f"{path}: no labelled records")
    return EvalSet(texts, contexts, labels, sources, [], str(path))
