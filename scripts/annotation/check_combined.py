"""Check a combined annotation sheet (one JSON line per sentence: label and spans, as round 5 was
annotated) against its batch file: every sentence covered once, labels in the schema, spans that
occur in the sentence. It proposes nothing; annotators run it on their own sheet before handing in.

    python scripts/annotation/check_combined.py work/annot5/r5rbatch0.txt work/annot5/out/r5rbatch0.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from data.annotations import SPAN_TYPES
from data.labels import LABELS


def batch_sentences(path: str) -> dict[tuple, str]:
    sents, art = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("### "):
            art = tuple(line[4:].split(" ", 1))
        elif m := re.match(r"\[(\d+)\] (.*)$", line):
            sents[(art[0], art[1], int(m.group(1)))] = m.group(2)
    return sents


def problems(sents: dict[tuple, str], sheet: str) -> tuple[list[str], list[str]]:
    errors, warnings, seen = [], [], set()
    for n, line in enumerate(open(sheet, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            key = (r["corpus"], str(r["article_id"]), int(r["index"]))
        except (ValueError, KeyError, TypeError) as e:
            errors.append(f"line {n}: not a valid record ({e})")
            continue
        if key not in sents:
            errors.append(f"line {n}: {key} is not in the batch")
            continue
        if key in seen:
            errors.append(f"line {n}: {key} labelled twice")
        seen.add(key)
        label = r.get("label")
        if label not in LABELS:
            errors.append(f"line {n}: bad label {label!r}")
        for kind in SPAN_TYPES:
            span = r.get(kind)
            if span is None:
                continue
            if label == "unattributed":
                errors.append(f"line {n}: {kind} span on an unattributed sentence")
            occ = int(r.get(f"{kind}_occurrence", 1))
            if not span or sents[key].count(span) < occ:
                errors.append(f"line {n}: {kind} {span!r} is not (occurrence {occ}) in the sentence text")
        if r.get("figure") is not None and label != "official_figure":
            errors.append(f"line {n}: figure span on a {label} sentence")
        if label not in (None, "unattributed") and r.get("cue") is None:
            warnings.append(f"line {n}: {label} sentence without a cue span (allowed only if truly none)")
    errors += [f"missing: {k}" for k in sents if k not in seen]
    return errors, warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("batch", help="the batch file the annotator was given")
    ap.add_argument("sheet", help="the annotator's JSONL sheet")
    args = ap.parse_args()
    sents = batch_sentences(args.batch)
    errors, warnings = problems(sents, args.sheet)
    print(f"{len(sents)} sentences in the batch, {len(errors)} error(s), {len(warnings)} warning(s)")
    for p in (errors + ["warning: " + w for w in warnings])[:60]:
        print(p)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
