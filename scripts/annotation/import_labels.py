"""Turn annotators' label sheets into stand-off gold, measure agreement, adjudicate.

Sheets are TSV lines `corpus  article_id  index  label`, where index is the
sentence's position under data.segment (the batch files list them so).
    first pass:   <work>/out/{,r2,r3}batchK.tsv    -> gold
    second pass:  <work>/out/overlapK.tsv          -> data/annotations/second_pass/
    adjudication: <work>/adjudicated.tsv           -> overrides gold where the passes differ

    python scripts/annotation/import_labels.py --work work/annot --corpus-dir ../shared/corpora
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from data.annotations import make_record, write_records
from data.build import external_corpora
from data.labels import LABELS
from data.readers import read_articles
from data.segment import segment


class SentenceLookup:
    """(corpus, article_id, index) -> the Sentence, segmenting each article once."""

    def __init__(self, corpus_dir: Path):
        self.corpora = {name: {a.id: a for a in read_articles(p, source=name)}
                        for name, p in external_corpora(corpus_dir).items()}
        self.segs: dict = {}

    def __call__(self, key):
        corpus, aid, idx = key
        if (corpus, aid) not in self.segs:
            self.segs[corpus, aid] = segment(self.corpora[corpus][aid].text)
        return self.segs[corpus, aid][idx]


def id_order(article_id: str):
    """Numeric article ids in numeric order (FNC-1 and Reuters ids are numbers kept as strings)."""
    return int(article_id) if article_id.isdigit() else article_id


def read_sheet(path: Path) -> dict[tuple, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[3] in LABELS:
            out[(parts[0], parts[1], int(parts[2]))] = parts[3]
    return out


def read_passes(work: Path, second_glob: str = "out/overlap*.tsv") -> tuple[dict, dict, dict]:
    """First-pass labels and who gave them (out/*batch*.tsv), and the blind second pass
    as {key: (label, annotator)}."""
    first, who = {}, {}
    for sheet in sorted(work.glob("out/*batch*.tsv")):
        for k, lab in read_sheet(sheet).items():
            first[k], who[k] = lab, f"helper:{sheet.stem}"
    second = {}
    for sheet in sorted(work.glob(second_glob)):
        second.update({k: (lab, f"helper:{sheet.stem}") for k, lab in read_sheet(sheet).items()})
    return first, who, second


def agreement(a: dict, b: dict) -> dict:
    from sklearn.metrics import cohen_kappa_score

    keys = sorted(set(a) & set(b))
    la, lb = [a[k] for k in keys], [b[k] for k in keys]
    per_label = {}
    for lab in LABELS:
        na, nb = la.count(lab), lb.count(lab)
        both = sum(1 for x, y in zip(la, lb) if x == y == lab)
        # Positive specific agreement: how often one annotator's `lab` is matched by the other.
        per_label[lab] = {"first": na, "second": nb, "both": both,
                          "agreement": round(2 * both / (na + nb), 3) if na + nb else None}
    return {"sentences": len(keys), "articles": len({k[:2] for k in keys}),
            "observed_agreement": round(sum(x == y for x, y in zip(la, lb)) / len(keys), 3),
            "cohen_kappa": round(float(cohen_kappa_score(la, lb, labels=list(LABELS))), 3),
            "per_label": per_label,
            "confusions": Counter(f"{x} vs {y}" for x, y in zip(la, lb) if x != y).most_common()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("work/annot"))
    ap.add_argument("--corpus-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--out", type=Path, default=Path("data/annotations"))
    ap.add_argument("--agreement-out", type=Path, default=Path("data/agreement.json"))
    ap.add_argument("--disagreements", type=Path, default=None, help="write disagreements for adjudication here")
    args = ap.parse_args()

    sentence = SentenceLookup(args.corpus_dir)
    seg_cache = sentence.segs

    first, who, second = read_passes(args.work)

    adjudicated = {}
    adj_path = args.work / "adjudicated.tsv"
    if adj_path.exists():
        adjudicated = read_sheet(adj_path)

    report = agreement(first, {k: v[0] for k, v in second.items()})
    report["adjudicated"] = sum(1 for k in adjudicated if k in second and first.get(k) != second[k][0])
    args.agreement_out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("sentences", "articles", "observed_agreement", "cohen_kappa")}))

    if args.disagreements:
        with open(args.disagreements, "w", encoding="utf-8") as f:
            for k in sorted(set(first) & set(second)):
                if first[k] != second[k][0]:
                    s = sentence(k)
                    before = [x.text for x in seg_cache[k[0], k[1]][max(0, s.index - 3) : s.index]]
                    f.write(json.dumps({"key": list(k), "context": before, "sentence": s.text,
                                        "labels": sorted({first[k], second[k][0]})}, ensure_ascii=False) + "\n")

    by_corpus = defaultdict(list)
    for k in sorted(first, key=lambda k: (k[0], id_order(k[1]), k[2])):
        s = sentence(k)
        label, annotator = first[k], who[k]
        if k in second and second[k][0] != label and k in adjudicated:
            label, annotator = adjudicated[k], f"adjudicated({annotator};{second[k][1]})"
        elif k in second:
            annotator = f"{annotator};{second[k][1]}"
        by_corpus[k[0]].append(make_record(k[0], k[1], s.start, s.end, s.text, label, annotator))
    for corpus, recs in by_corpus.items():
        write_records(args.out / f"{corpus}.jsonl", recs)
        print(f"{corpus}: {len(recs)} gold records, {dict(Counter(r['label'] for r in recs))}")
    second_recs = [make_record(k[0], k[1], sentence(k).start, sentence(k).end, sentence(k).text, lab, ann)
                   for k, (lab, ann) in sorted(second.items())]
    write_records(args.out / "second_pass" / "overlap.jsonl", second_recs)


if __name__ == "__main__":
    main()
