"""Turn span sheets into stand-off span records and measure span agreement.

Sheets are JSONL lines {"corpus", "article_id", "index", "source", "cue", "figure"[, "<kind>_occurrence"]},
each span given as the exact text inside the sentence (or null), which is located here.
    first pass:   <work>/out/sbatch*.jsonl   -> data/annotations/spans/<corpus>.jsonl
    second pass:  <work>/out/soverlap*.jsonl -> data/annotations/spans/second_pass/overlap[_<round>].jsonl
Records of sentences that the sheets do not cover are kept, so a later round adds to the earlier ones.

    python scripts/annotation/import_spans.py --work work/spans                  # round 4
    python scripts/annotation/import_spans.py --work work/annot5 --round r5 \
        --report data/agreement_spans_r5.json                                    # round 5
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from data.annotations import SPAN_TYPES
from data.segment import sentence_hash
from scripts.annotation.import_labels import SentenceLookup, id_order


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


def span_agreement(first: list[dict], second: list[dict]) -> dict:
    """Exact-match and token-overlap F1 per span type between two passes over the same sentences,
    scored by the harness's own function (eval.spans), so agreement and model scores compare."""
    from eval.spans import score_spans

    key = lambda r: (r["corpus"], str(r["article_id"]), r["start"])
    a, b = {key(r): r for r in first}, {key(r): r for r in second}
    keys = sorted(set(a) & set(b))
    m = score_spans([a[k]["text"] for k in keys], [a[k] for k in keys], [b[k] for k in keys])
    return {"sentences": len(keys), "metric": "exact match; token overlap pooled over spans (as Citron)"} | {
        kind: {"first": m[kind]["gold"], "second": m[kind]["predicted"], "exact_f1": round(m[kind]["exact"]["f1"], 3),
               "overlap_f1": round(m[kind]["overlap"]["f1"], 3),
               "both_none": sum(a[k][kind] is None and b[k][kind] is None for k in keys)} for kind in SPAN_TYPES}


def joined(records: list[dict], corpora) -> list[dict]:
    from data.annotations import join_spans

    out = []
    for corpus in sorted({r["corpus"] for r in records}):
        out += join_spans([r for r in records if r["corpus"] == corpus], corpora[corpus])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("work/spans"))
    ap.add_argument("--corpus-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--annotations", type=Path, default=Path("data/annotations"))
    ap.add_argument("--report", type=Path, default=Path("data/agreement_spans.json"))
    ap.add_argument("--round", default="", help="a later round: its second pass goes to overlap_<round>.jsonl")
    ap.add_argument("--agreement-only", action="store_true",
                    help="recompute the round-4 agreement from the committed span files")
    args = ap.parse_args()

    sentence = SentenceLookup(args.corpus_dir)
    labels = {(r["corpus"], r["article_id"], r["start"]): r["label"]
              for f in args.annotations.glob("*.jsonl") for r in map(json.loads, f.open())}
    from data.build import load_corpora

    corpora = load_corpora(args.corpus_dir)
    if args.agreement_only:  # from the committed span files: first pass vs the second pass
        first = [r for f in sorted((args.annotations / "spans").glob("*.jsonl")) for r in map(json.loads, f.open())]
        second = list(map(json.loads, (args.annotations / "spans" / "second_pass" / "overlap.jsonl").open()))
        report = span_agreement(joined(first, corpora), joined(second, corpora))
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report))
        return
    first = {}
    for sheet in sorted(args.work.glob("out/sbatch*.jsonl")):
        first.update(read_sheet(sheet, sentence, labels))
    second = {}
    for sheet in sorted(args.work.glob("out/soverlap*.jsonl")):
        second.update(read_sheet(sheet, sentence, labels))
    report = span_agreement(joined(list(first.values()), corpora), joined(list(second.values()), corpora))
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    out = args.annotations / "spans"
    new_keys = {(r["corpus"], r["article_id"], r["start"]) for r in first.values()}
    kept = [r for f in sorted(out.glob("*.jsonl")) for r in map(json.loads, f.open())
            if (r["corpus"], r["article_id"], r["start"]) not in new_keys]
    by_corpus = defaultdict(list)
    for r in kept + list(first.values()):
        by_corpus[r["corpus"]].append(r)
    for corpus, recs in by_corpus.items():
        recs.sort(key=lambda r: (id_order(r["article_id"]), r["start"]))
        write(out / f"{corpus}.jsonl", recs)
    write(out / "second_pass" / f"overlap{'_' + args.round if args.round else ''}.jsonl",
          [second[k] for k in sorted(second)])
    counts = {kind: sum(r[kind] is not None for recs in by_corpus.values() for r in recs) for kind in SPAN_TYPES}
    print(json.dumps({"sentences": {c: len(r) for c, r in by_corpus.items()}, "spans": counts, "agreement": report}))


def write(path: Path, recs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))


if __name__ == "__main__":
    main()
