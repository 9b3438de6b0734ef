"""Split combined sheets (one JSON line per sentence with label and spans, as round 5 was annotated)
into the label sheets that merge_round.py reads and the span sheets that import_spans.py reads.

    out/<name>.jsonl -> out/<name>.tsv (corpus, article_id, index, label)
                        out/sbatch_<name>.jsonl or out/soverlap_<name>.jsonl (spans of non-unattributed sentences)

    python scripts/annotation/split_combined.py --work work/annot5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from data.annotations import SPAN_TYPES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    keep = ("corpus", "article_id", "index", *SPAN_TYPES, *(f"{k}_occurrence" for k in SPAN_TYPES))
    for sheet in sorted((args.work / "out").glob("*.jsonl")):
        if sheet.name.startswith(("sbatch", "soverlap")):
            continue
        recs = [json.loads(line) for line in sheet.read_text(encoding="utf-8").splitlines() if line.strip()]
        sheet.with_suffix(".tsv").write_text(
            "".join(f"{r['corpus']}\t{r['article_id']}\t{r['index']}\t{r['label']}\n" for r in recs), encoding="utf-8")
        kind = "soverlap" if "overlap" in sheet.stem else "sbatch"
        spans = [{k: r[k] for k in keep if k in r} for r in recs if r["label"] != "unattributed"]
        (sheet.parent / f"{kind}_{sheet.stem}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in spans), encoding="utf-8")
        print(f"{sheet.name}: {len(recs)} labels, {len(spans)} span records")


if __name__ == "__main__":
    main()
