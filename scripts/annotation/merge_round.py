"""Merge a later annotation round into the stand-off gold, with its re-checks.

Round 4 (newswire) as run:
    python scripts/annotation/merge_round.py --work work/annot4 --drift work/drift/decisions.tsv

Reads, under --work:
    out/*batch*.tsv        first pass (corpus, article_id, index, label): new gold records
    out/*overlap*.tsv      blind second pass of some of those sentences: agreement only
    out/consistency*.tsv   re-read of first-pass sentences under the conventions settled in this round
                           (corpus, article_id, index, old, new, reason)
    adjudicated.tsv        the adjudicated label where first and second pass still differ
and --drift: re-read of existing gold (same columns as consistency), applied to the old records.
Writes data/annotations/<corpus>.jsonl (existing records kept, new ones added), the second
pass to data/annotations/second_pass/, and the agreement and change counts to --report.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from data.annotations import load_records, make_record, write_records
from data.labels import LABELS
from scripts.annotation.import_labels import SentenceLookup, agreement, id_order, read_passes, read_sheet


def read_decisions(paths) -> dict[tuple, tuple[str, str]]:
    out = {}
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 5 and parts[4] in LABELS:
                out[(parts[0], parts[1], int(parts[2]))] = (parts[3], parts[4])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="the round's work folder")
    ap.add_argument("--round", default="r4", help="name of the round in annotator fields and file names")
    ap.add_argument("--drift", type=Path, nargs="*", default=[], help="decision sheets re-checking existing gold")
    ap.add_argument("--corpus-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--out", type=Path, default=Path("data/annotations"))
    ap.add_argument("--report", type=Path, default=Path("data/agreement_round4.json"))
    ap.add_argument("--disagreements", type=Path, default=None, help="write what still needs adjudication here")
    args = ap.parse_args()

    sentence = SentenceLookup(args.corpus_dir)
    segs = sentence.segs

    first, who, second = read_passes(args.work, "out/*overlap*.tsv")
    raw = agreement(first, {k: v[0] for k, v in second.items()})

    consistency = read_decisions(sorted(args.work.glob("out/consistency*.tsv")))
    changed = Counter()
    for k, (_, new) in consistency.items():
        if k in first and first[k] != new:
            changed[f"{first[k]} -> {new}"] += 1
            first[k], who[k] = new, f"{who[k]};consistency"
    after = agreement(first, {k: v[0] for k, v in second.items()})
    adjudicated = read_sheet(args.work / "adjudicated.tsv") if (args.work / "adjudicated.tsv").exists() else {}
    pending = []
    for k in sorted(set(first) & set(second)):
        if first[k] == second[k][0]:
            who[k] = f"{who[k]};{second[k][1]}"
        elif k in adjudicated:
            first[k], who[k] = adjudicated[k], f"adjudicated({who[k]};{second[k][1]})"
        else:
            pending.append(k)
    if args.disagreements:
        with open(args.disagreements, "w", encoding="utf-8") as f:
            for k in pending:
                s = sentence(k)
                before = [x.text for x in segs[k[0], k[1]][max(0, s.index - 3): s.index]]
                f.write(json.dumps({"key": list(k), "context": before, "sentence": s.text,
                                    "labels": sorted({first[k], second[k][0]})}, ensure_ascii=False) + "\n")
        print(f"{len(pending)} disagreement(s) to adjudicate -> {args.disagreements}")
        return

    # drift sheets name sentences by index; records by start offset
    drift = {(k[0], k[1], sentence(k).start): v for k, v in read_decisions(args.drift).items()}
    drift_changed = Counter()
    by_corpus: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(args.out.glob("*.jsonl")):
        for rec in load_records(path):
            new = drift.get((rec["corpus"], rec["article_id"], rec["start"]), (None, rec["label"]))[1]
            if new != rec["label"]:
                drift_changed[f"{rec['corpus']}: {rec['label']} -> {new}"] += 1
                rec = dict(rec, label=new, annotator=f"{rec['annotator']};drift-recheck")
            by_corpus[rec["corpus"]].append(rec)
    known = {(r["corpus"], r["article_id"], r["start"]) for recs in by_corpus.values() for r in recs}
    added = Counter()
    for k in sorted(first, key=lambda k: (k[0], id_order(k[1]), k[2])):
        s = sentence(k)
        if (k[0], k[1], s.start) in known:
            raise SystemExit(f"{k}: already in the gold; a round must annotate new articles only")
        by_corpus[k[0]].append(make_record(k[0], k[1], s.start, s.end, s.text, first[k], who[k]))
        added[k[0]] += 1
    for corpus, recs in by_corpus.items():
        recs.sort(key=lambda r: (id_order(r["article_id"]), r["start"]))
        write_records(args.out / f"{corpus}.jsonl", recs)
    second_recs = [make_record(k[0], k[1], sentence(k).start, sentence(k).end, sentence(k).text, lab, ann)
                   for k, (lab, ann) in sorted(second.items())]
    write_records(args.out / "second_pass" / f"overlap_{args.round}.jsonl", second_recs)
    report = {"round": args.round, "added": dict(added), "blind_double_annotation_raw": raw,
              "after_conventions": {k: after[k] for k in ("sentences", "observed_agreement", "cohen_kappa")},
              "consistency_changes": dict(changed), "adjudicated": len(set(adjudicated) & set(second)),
              "still_disagreeing": len(pending), "drift_recheck_changes": dict(drift_changed)}
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "blind_double_annotation_raw"}, indent=1))
    print(f"raw kappa {raw['cohen_kappa']} on {raw['sentences']} sentences; after conventions {after['cohen_kappa']}")


if __name__ == "__main__":
    main()
