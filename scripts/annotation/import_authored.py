"""Import team-written articles (sentences + labels) as corpus + stand-off labels.

Input lines: {"id", "domain", "outlet", "story", "title", "sentences": [{"text", "label"}]}
Output: data/corpus/authored.jsonl (the articles, committed: the team wrote them)
and data/annotations/authored.jsonl (stand-off labels, same format as real news).
Sentences are joined one per line, so the segmenter reproduces them exactly;
an article it would split differently is an error to fix in the source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from data.annotations import make_record, write_records
from data.segment import segment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", type=Path)
    ap.add_argument("--corpus-out", type=Path, default=Path("data/corpus/authored.jsonl"))
    ap.add_argument("--labels-out", type=Path, default=Path("data/annotations/authored.jsonl"))
    args = ap.parse_args()

    articles, records, skipped = [], [], 0
    for path in args.inputs:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            a = json.loads(line)
            sents = [s["text"].strip() for s in a["sentences"]]
            text = "\n".join(sents)
            units = segment(text)
            if [u.text for u in units] != sents:
                skipped += 1
                print(f"skipped {a['id']}: segmenter disagrees with the authored sentences")
                continue
            annotator = a.get("annotator", "team-writer")
            articles.append({"id": a["id"], "text": text, "source": "authored", "title": a.get("title", sents[0]),
                             "domain": a["domain"], "outlet": a["outlet"], "story": a.get("story", "")})
            records += [make_record("authored", a["id"], u.start, u.end, u.text, s["label"], annotator)
                        for u, s in zip(units, a["sentences"])]
    args.corpus_out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.corpus_out, "w", encoding="utf-8") as f:
        for art in articles:
            f.write(json.dumps(art, ensure_ascii=False) + "\n")
    write_records(args.labels_out, records)
    print(f"{len(articles)} articles, {len(records)} sentences imported, {skipped} skipped")


if __name__ == "__main__":
    main()
