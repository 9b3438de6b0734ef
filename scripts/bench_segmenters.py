"""Sentence segmenters on real articles: speed on one core, and agreement with pysbd.

    python scripts/bench_segmenters.py [--corpus ../shared/corpora/fnc1/train_bodies.csv] [--articles 300]

pysbd is the project's segmenter: every gold annotation is a pysbd unit (stand-off
offsets), so any other segmenter is judged by how many of pysbd's sentence
boundaries it reproduces (boundary precision / recall / F1) and by its speed.
syntok and blingfire are optional (pip install syntok blingfire); missing ones are skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.segment import _LINE  # noqa: E402  (the same line split the project's segmenter uses)


def spans_from_pieces(line: str, pieces) -> list[tuple[int, int]]:
    out, cursor = [], 0
    for piece in pieces:
        piece = piece.strip()
        pos = line.find(piece, cursor) if piece else -1
        if pos >= 0:
            out.append((pos, pos + len(piece)))
            cursor = pos + len(piece)
    return out


def segmenters():
    found = {}
    from data.segment import _split_line

    found["pysbd"] = lambda line: _split_line(line)
    try:
        from syntok import segmenter

        def syntok_split(line):
            return ["".join(t.spacing + t.value for t in sent) for para in segmenter.analyze(line) for sent in para]

        found["syntok"] = syntok_split
    except ImportError:
        print("note: syntok not installed; skipped", file=sys.stderr)
    try:
        import blingfire

        found["blingfire"] = lambda line: blingfire.text_to_sentences(line).split("\n")
    except ImportError:
        print("note: blingfire not installed; skipped", file=sys.stderr)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpora/fnc1/train_bodies.csv"))
    ap.add_argument("--articles", type=int, default=300)
    args = ap.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the figures

    from data.cli import run
    from data.readers import iter_articles

    def bench():
        lines = []
        for k, art in enumerate(iter_articles([args.corpus])):
            if k == args.articles:
                break
            lines += [m.group() for m in _LINE.finditer(art.text) if m.group().strip()]
        results = {}
        for name, split in segmenters().items():
            split(lines[0])  # load models / compile regexes outside the timing
            t = time.perf_counter()
            pieces = [list(split(line)) for line in lines]
            dt = time.perf_counter() - t
            results[name] = ([set(e for _, e in spans_from_pieces(line, p)) for line, p in zip(lines, pieces)],
                             sum(len(p) for p in pieces) / dt)
        ref = results["pysbd"][0]
        print(f"{len(lines)} paragraphs from {args.articles} real articles; one core\n")
        print("| segmenter | sentences/s | boundary P / R / F1 vs pysbd |\n|---|---|---|")
        for name, (ends, rate) in results.items():
            tp = sum(len(a & b) for a, b in zip(ends, ref))
            p, r = tp / max(1, sum(map(len, ends))), tp / max(1, sum(map(len, ref)))
            print(f"| {name} | {rate:,.0f} | {p:.3f} / {r:.3f} / {2 * p * r / max(p + r, 1e-9):.3f} |")

    run(bench)


if __name__ == "__main__":
    main()
