"""Turn span sheets into stand-off span records and measure span agreement.

Sheets are JSONL lines {"corpus", "article_id", "index", "source", "cue", "figure"[, "<kind>_occurrence"]},
each span given as the exact text inside the sentence (or null), which is located here.
    first pass:   <work>/out/sbatch*.jsonl  -> data/annotations/spans/<corpus>.jsonl
    second pass:  <work>/out/soverlap.jsonl -> data/annotations/spans/second_pass/overlap.jsonl

    python scripts/annotation/import_spans.py --work work/spans
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from data.annotations import SPAN_TYPES
from data.segment import sentence_hash
from scripts.annotation.import_labels import SentenceLookup


def locate(text: str, span: str | None, occurrence: int = 1) -> list[int] | None:
    if span is None or span == "":
        return None
    pos = -1
    for _ in range(max(1, int(occurrence))):
        pos = text.find(span, pos + 1)
        if pos < 0:
            raise ValueError(f"{span!r} is not in the sentence")
    return [pos, pos + len(span)]


def read_sheet(path: Path, sentence, labels: dict) -> dict[tuple, dict]:
    out, problems = {}, Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        key = (rec["corpus"], str(rec["article_id"]), int(rec["index"]))
        s = sentence(key)
        spans = {}
        for kind in SPAN_TYPES:
            try:
                spans[kind] = locate(s.text, rec.get(kind), rec.get(f"{kind}_occurrence", 1))
            except ValueError:
                problems[f"{kind} not in sentence"] += 1
                spans[kind] = None
        if spans["figure"] and labels.get((key[0], key[1], s.start)) != "official_figure":
            problems["figure on a non-figure label"] += 1
            spans["figure"] = None
        out[key] = {"corpus": key[0], "article_id": key[1], "start": s.start, "end": s.end,
                    "sha1": sentence_hash(s.text), **spans, "annotator": f"helper:{path.stem}"}
    if problems:
        print(f"{path.name}: dropped {dict(problems)}")
    return out


def span_agreement(a: dict, b: dict, sentence) -> dict:
    """Exact-match F1 and token-overlap F1 (pooled over sentences) per span type."""
    keys = sorted(set(a) & set(b))
    out = {"sentences": len(keys)}
    for kind in SPAN_TYPES:
        exact = na = nb = 0
        overlap = ta = tb = 0
        for k in keys:
            x, y = a[k][kind], b[k][kind]
            na, nb = na + (x is not None), nb + (y is not None)
            exact += x is not None and x == y
            text = sentence(k).text
            toks = lambda s: set() if s is None else {i for i, ch in enumerate(text) if s[0] <= i < s[1] and not ch.isspace()}
            tx, ty = toks(x), toks(y)
            overlap, ta, tb = overlap + len(tx & ty), ta + len(tx), tb + len(ty)
        out[kind] = {"first": na, "second": nb, "exact_f1": round(2 * exact / (na + nb), 3) if na + nb else None,
                     "overlap_f1": round(2 * overlap / (ta + tb), 3) if ta + tb else None,
                     "both_none": sum(a[k][kind] is None and b[k][kind] is None for k in keys)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("work/spans"))
    ap.add_argument("--corpus-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--annotations", type=Path, default=Path("data/annotations"))
    ap.add_argument("--report", type=Path, default=Path("data/agreement_spans.json"))
    args = ap.parse_args()

    sentence = SentenceLookup(args.corpus_dir)
    labels = {(r["corpus"], r["article_id"], r["start"]): r["label"]
              for f in args.annotations.glob("*.jsonl") for r in map(json.loads, f.open())}
    first = {}
    for sheet in sorted(args.work.glob("out/sbatch*.jsonl")):
        first.update(read_sheet(sheet, sentence, labels))
    second = read_sheet(args.work / "out" / "soverlap.jsonl", sentence, labels) \
        if (args.work / "out" / "soverlap.jsonl").exists() else {}
    report = span_agreement(first, second, sentence)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    by_corpus = defaultdict(list)
    for k in sorted(first, key=lambda k: (k[0], int(k[1]) if k[1].isdigit() else k[1], k[2])):
        by_corpus[k[0]].append(first[k])
    out = args.annotations / "spans"
    for corpus, recs in by_corpus.items():
        write(out / f"{corpus}.jsonl", recs)
    write(out / "second_pass" / "overlap.jsonl", [second[k] for k in sorted(second)])
    counts = {kind: sum(r[kind] is not None for recs in by_corpus.values() for r in recs) for kind in SPAN_TYPES}
    print(json.dumps({"sentences": {c: len(r) for c, r in by_corpus.items()}, "spans": counts, "agreement": report}))


def write(path: Path, recs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))


if __name__ == "__main__":
    main()
