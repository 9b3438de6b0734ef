"""Stand-off annotations: labels that point into article text by offsets.

A record is one JSON line:
    {"corpus": "fnc1", "article_id": "1718", "start": 0, "end": 131,
     "sha1": "<sha1 of text[start:end]>", "label": "asserted", "annotator": "..."}
Third-party text never enters the repository; the join below recovers each
sentence from the corpus and proves by hash that it is the one annotated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from data.labels import LABELS
from data.readers import Article, DataError
from data.segment import segment, sentence_hash

FIELDS = ("corpus", "article_id", "start", "end", "sha1", "label", "annotator")
SPAN_TYPES = ("source", "cue", "figure")
SPAN_FIELDS = ("corpus", "article_id", "start", "end", "sha1", *SPAN_TYPES, "annotator")


@dataclass
class Labelled:
    corpus: str
    article_id: str
    start: int
    end: int
    text: str
    context: str
    label: str
    annotator: str
    spans: dict | None = None  # kind -> {"text", "start", "end"} inside the sentence, or None; None: not marked


def load_records(path: Path, fields=FIELDS) -> list[dict]:
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: not JSON ({e})") from None
        missing = [f for f in fields if f not in rec]
        if missing:
            raise DataError(f"{where}: annotation record lacks {', '.join(missing)}")
        if "label" in fields and rec["label"] not in LABELS:
            raise DataError(f"{where}: unknown label {rec['label']!r}; expected one of {', '.join(LABELS)}")
        rec["article_id"] = str(rec["article_id"])
        rec["_where"] = where
        records.append(rec)
    return records


def join(records: list[dict], articles: dict[str, Article]) -> list[Labelled]:
    """Recover each annotated sentence from its article; any mismatch is fatal."""
    out, seg_cache = [], {}
    for rec in records:
        where = rec["_where"]
        art = articles.get(rec["article_id"])
        if art is None:
            raise DataError(f"{where}: article {rec['article_id']!r} not found in corpus {rec['corpus']!r}")
        start, end = rec["start"], rec["end"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(art.text)):
            raise DataError(f"{where}: offsets {start}:{end} out of range for article {art.id!r} ({len(art.text)} chars)")
        text = art.text[start:end]
        if sentence_hash(text) != rec["sha1"]:
            raise DataError(f"{where}: sha1 mismatch at {art.id!r} {start}:{end}; the corpus text differs from the annotated one")
        if art.id not in seg_cache:
            seg_cache[art.id] = segment(art.text)
        before = [s.text for s in seg_cache[art.id] if s.end <= start]
        out.append(Labelled(rec["corpus"], art.id, start, end, text, before[-1] if before else "", rec["label"], rec["annotator"]))
    return out


def make_record(corpus: str, article_id: str, start: int, end: int, text: str, label: str, annotator: str) -> dict:
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    return {"corpus": corpus, "article_id": str(article_id), "start": start, "end": end,
            "sha1": sentence_hash(text), "label": label, "annotator": annotator}


def write_records(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps({k: rec[k] for k in FIELDS}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def join_spans(records: list[dict], articles: dict[str, Article]) -> list[dict]:
    """Span records (`annotations/spans/`): each names a sentence like a label record, and each
    span as [start, end] offsets inside that sentence, or null. Returns the sentence text and
    the span texts; a hash or offset that does not match is fatal."""
    out = []
    for rec in records:
        where = rec.get("_where", rec.get("article_id"))
        art = articles.get(str(rec["article_id"]))
        if art is None:
            raise DataError(f"{where}: article {rec['article_id']!r} not found in corpus {rec['corpus']!r}")
        text = art.text[rec["start"]:rec["end"]]
        if sentence_hash(text) != rec["sha1"]:
            raise DataError(f"{where}: sha1 mismatch at {art.id!r} {rec['start']}:{rec['end']}")
        spans = {}
        for kind in SPAN_TYPES:
            span = rec.get(kind)
            if span is not None and not (0 <= span[0] < span[1] <= len(text)):
                raise DataError(f"{where}: {kind} span {span} outside the sentence ({len(text)} chars)")
            spans[kind] = None if span is None else {"text": text[span[0]:span[1]], "start": span[0], "end": span[1]}
        out.append({"corpus": rec["corpus"], "article_id": art.id, "start": rec["start"], "text": text, **spans})
    return out
