"""Choose which FNC-1 articles to hand-annotate and write annotation batches.

Rare labels (`disputed`, `official_figure`) are scarce in news, so articles are
picked partly by the rule labeller's cue counts in their leading sentences and
partly at random. Only the *choice* of articles uses rules; every label comes
from a person (or helper) reading the sentences. Whole leading runs of
sentences are annotated, never cherry-picked sentences.

    python scripts/annotation/select_articles.py --corpus ../shared/corpora/fnc1/train_bodies.csv \
        --out work/annot --batches 6 --overlap 6
    # round 4 (newswire): whole leading runs of Reuters stories
    python scripts/annotation/select_articles.py --corpus ../shared/corpora/reuters/train_bodies.csv \
        --name reuters --out work/annot4 --prefix r4 --n-figure 300 --n-disputed 0 --n-random 300
    # round 5: hard negatives for official_figure, rare labels and random articles from both corpora
    python scripts/annotation/select_articles.py --corpus ../shared/corpora/reuters/train_bodies.csv --name reuters \
        --out work/annot5 --prefix r5r --n-figure 50 --n-disputed 0 --n-number 100 --n-random 100 --batches 4 \
        --overlap 4 --exclude data/annotations/reuters.jsonl
    python scripts/annotation/select_articles.py --out work/annot5 --prefix r5f --n-figure 0 --n-disputed 40 \
        --n-number 30 --n-random 60 --batches 4 --overlap 3 --exclude data/annotations/fnc1.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

from data.readers import read_articles
from data.segment import segment
from model.rules import rule_label


# Broader than the rule labeller on purpose: a second round looks for any sentence
# that *might* carry an official statistic (a number, an official body, a report verb).
_NUM = re.compile(r"\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b")
_OFFICIAL = re.compile(
    r"\b(WHO|World Health|ministry|police|government|officials?|authorities|CDC|army|military|Pentagon|UN|"
    r"United Nations|UNHCR|agency|department|spokes\w+|governor|minister|state|coroner|court|prosecutors?|"
    r"sheriff|FBI|Centers|commission|bureau|council|office)\b", re.I)
_REPORTS = re.compile(r"\b(said|says|according to|announced|reported|figures|toll|statement|estimated|confirmed|data)\b", re.I)


def figure_candidate(text: str) -> bool:
    return bool(_NUM.search(text) and _OFFICIAL.search(text) and _REPORTS.search(text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="../shared/corpora/fnc1/train_bodies.csv")
    ap.add_argument("--name", default="fnc1", help="corpus name the stand-off records carry (fnc1, reuters)")
    ap.add_argument("--seeds", default="../shared/corpora/seeds")
    ap.add_argument("--no-seeds", action="store_true", help="do not prepend the seed articles")
    ap.add_argument("--out", default="work/annot")
    ap.add_argument("--lead", type=int, default=14, help="sentences annotated per article (leading run)")
    ap.add_argument("--n-figure", type=int, default=130)
    ap.add_argument("--n-disputed", type=int, default=90)
    ap.add_argument("--n-random", type=int, default=120)
    ap.add_argument("--n-number", type=int, default=0,
                    help="articles with the most numbers outside any official context (company results, the "
                         "writer's background figures): the sentences that the model wrongly calls official_figure")
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--overlap", type=int, default=6, help="articles per batch also given to a second annotator")
    ap.add_argument("--exclude", nargs="*", default=[], help="annotation files whose articles are taken already")
    ap.add_argument("--figure-pass", action="store_true",
                    help="pick every untaken article with a possible official figure; annotate its leading run "
                         "through the last such sentence (at most --lead sentences)")
    ap.add_argument("--prefix", default="", help="prefix of the batch file names (for later rounds)")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    taken = set()
    for f in args.exclude:
        taken |= {json.loads(l)["article_id"] for l in open(f) if l.strip() and json.loads(l)["corpus"] == args.name}
    articles = list(read_articles(args.corpus))
    opening = {a.id: " ".join(a.text.split())[:500] for a in articles}  # near-duplicates share it
    # near-duplicates of annotated articles are out too: a copy of a test article must not become training gold
    seen_text = {opening[a.id] for a in articles if a.id in taken}
    pool = []
    for a in articles:
        key = opening[a.id]
        if a.id in taken or key in seen_text:
            continue
        seen_text.add(key)
        sents = segment(a.text)
        if args.figure_pass:
            hits = [s.index for s in sents[: args.lead] if figure_candidate(s.text)]
            if hits:
                pool.append({"corpus": args.name, "article_id": a.id, "sentences": sents[: max(hits) + 1],
                             "cues": Counter()})
            continue
        sents = sents[: args.lead]
        if len(sents) < 3:
            continue
        # figure_candidate counts possible official statistics for every corpus (the cue
        # labeller's figure rule was written for FNC-1 and misses wire phrasing)
        cues = Counter(rule_label(s.text) for s in sents) + Counter(
            official_figure=sum(figure_candidate(s.text) for s in sents),
            number=sum(bool(_NUM.search(s.text)) and not figure_candidate(s.text) for s in sents))
        pool.append({"corpus": args.name, "article_id": a.id, "sentences": sents, "cues": cues})

    chosen, ids = [], set()

    def take(cands, n):
        for c in cands:
            if n <= 0:
                break
            if c["article_id"] not in ids:
                ids.add(c["article_id"])
                chosen.append(c)
                n -= 1

    rng.shuffle(pool)
    if args.figure_pass:
        take(pool, len(pool))
    take(sorted(pool, key=lambda c: -c["cues"]["official_figure"]), args.n_figure)
    take(sorted(pool, key=lambda c: -c["cues"]["disputed"]), args.n_disputed)
    take(sorted(pool, key=lambda c: -c["cues"]["number"]), args.n_number)
    take(pool, args.n_random)
    rng.shuffle(chosen)

    if not args.exclude and not args.no_seeds:
        for a in read_articles(args.seeds):
            chosen.insert(0, {"corpus": "seeds", "article_id": a.id, "sentences": segment(a.text)})

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    batches = [chosen[i :: args.batches] for i in range(args.batches)]
    for k, batch in enumerate(batches):
        write_batch(out / f"{args.prefix}batch{k}.txt", batch)
        if args.overlap:
            # The overlap set goes to the next annotator, who never sees batch k's labels.
            write_batch(out / f"{args.prefix}overlap{(k + 1) % args.batches}.txt", batch[: args.overlap])
    n = sum(len(c["sentences"]) for c in chosen)
    print(f"{len(chosen)} articles, {n} sentences in {args.batches} batches -> {out}")


def write_batch(path: Path, articles: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for c in articles:
            f.write(f"### {c['corpus']} {c['article_id']}\n")
            for s in c["sentences"]:
                f.write(f"[{s.index}] {s.text}\n")
            f.write("\n")


if __name__ == "__main__":
    main()
