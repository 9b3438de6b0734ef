"""Render labelled articles as one self-contained HTML page.

    python scripts/report_html.py --predictions labels.jsonl --out report.html [--threshold 0.75]

Each sentence is highlighted by its label (hover: all five scores). A summary
table gives each article's share of sentences per label, and the cross-outlet
view groups sentences from different articles that report the same claim
(cosine similarity of the backbone's mean-pooled embeddings) so one can see
who asserted, who flagged as unverified, who disputed, who gave a figure.
No network requests: CSS is inline and there is no JavaScript.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.labels import DESCRIPTIONS, LABELS  # noqa: E402

COLOURS = {"asserted": "#cfe3ff", "disputed": "#ffc9c9", "unverified": "#ffe8a8",
           "official_figure": "#c8f0d0", "unattributed": "#eeeeee"}

CSS = """
body{font:15px/1.55 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.s{padding:1px 2px;border-radius:3px;position:relative}
.s .tip{display:none;position:absolute;left:0;top:1.6em;z-index:5;background:#fff;border:1px solid #999;
 padding:6px 8px;font-size:12px;width:230px;box-shadow:0 2px 6px #0003}
.s:hover .tip{display:block}.art p{line-height:1.9}
.bar{display:flex;align-items:center;gap:4px}.bar i{display:inline-block;height:8px;background:#555}
.legend span,.badge{display:inline-block;padding:1px 6px;margin:2px;border-radius:3px;font-size:13px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f6f6f6}.art{margin-bottom:1.5em}.counts{font-size:13px;color:#555}
"""


def load_predictions(path: Path) -> dict[str, list[dict]]:
    from data.readers import DataError

    if not path.is_file():
        raise DataError(f"{path}: no such predictions file")
    articles: dict[str, list[dict]] = defaultdict(list)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            assert rec["label"] in LABELS and "text" in rec and "article_id" in rec
        except (json.JSONDecodeError, KeyError, AssertionError, TypeError):
            raise DataError(f"{path}:{lineno}: not a prediction record from scripts/predict.py") from None
        articles[str(rec["article_id"])].append(rec)
    if not articles:
        raise DataError(f"{path}: no predictions")
    return articles


def same_claim_groups(articles: dict[str, list[dict]], threshold: float, embed_fn=None) -> list[list[dict]]:
    """Connected components of cross-article sentence pairs with cosine >= threshold."""
    import numpy as np

    sents = [(aid, r) for aid, recs in articles.items() for r in recs if r["label"] != "unattributed"]
    if len({aid for aid, _ in sents}) < 2:
        return []
    if embed_fn is None:
        from model.embed import embed as embed_fn
    emb = np.asarray(embed_fn([r["text"] for _, r in sents]))
    sim = emb @ emb.T
    parent = list(range(len(sents)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(sents)):
        for j in range(i + 1, len(sents)):
            if sents[i][0] != sents[j][0] and sim[i, j] >= threshold:
                parent[find(i)] = find(j)
    comps = defaultdict(list)
    for i, (aid, r) in enumerate(sents):
        comps[find(i)].append(dict(r, article_id=aid))
    groups = [g for g in comps.values() if len({r["article_id"] for r in g}) > 1]
    return sorted(groups, key=lambda g: (-len({r["article_id"] for r in g}), g[0]["article_id"], g[0]["index"]))


def badge(label: str) -> str:
    return f'<span class="badge" style="background:{COLOURS[label]}">{escape(label)}</span>'


def sentence_html(r: dict) -> str:
    scores = r.get("scores") or {r["label"]: r.get("score", 1.0)}
    # spans only: a <div> inside <p> would close the paragraph and spill the tooltip out
    bars = "".join(f'<span class="bar"><span style="width:95px">{escape(lab)}</span>'
                   f'<i style="width:{100 * float(scores.get(lab, 0)):.0f}px"></i>{float(scores.get(lab, 0)):.2f}</span>'
                   for lab in LABELS)
    return (f'<span class="s" style="background:{COLOURS[r["label"]]}">{escape(r["text"])}'
            f'<span class="tip"><b>{escape(r["label"])}</b>{bars}</span></span>')


def render(articles: dict[str, list[dict]], threshold: float = 0.75, embed_fn=None, title: str = "Source-stance report") -> str:
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>",
             '<p class="legend">' + "".join(f'<span style="background:{COLOURS[lab]}" title="{escape(DESCRIPTIONS[lab])}">'
                                            f"{escape(lab)}</span>" for lab in LABELS) + "</p>"]
    parts.append('<h2 id="summary">Share of sentences by label</h2><table class="summary"><tr><th>article</th><th>sentences</th>'
                 + "".join(f"<th>{escape(lab)}</th>" for lab in LABELS) + "</tr>")
    for aid, recs in articles.items():
        c = Counter(r["label"] for r in recs)
        parts.append(f"<tr><td>{escape(aid)}</td><td>{len(recs)}</td>"
                     + "".join(f"<td>{100 * c[lab] / len(recs):.0f}%</td>" for lab in LABELS) + "</tr>")
    parts.append("</table>")

    groups = same_claim_groups(articles, threshold, embed_fn)
    parts.append(f'<h2 id="cross-outlet">Same claim across outlets</h2><p class="counts">Sentences from different '
                 f"articles with cosine similarity ≥ {threshold:.2f} (backbone embeddings); {len(groups)} group(s).</p>")
    if groups:
        ids = list(articles)
        parts.append('<table class="cross"><tr><th>#</th>' + "".join(f"<th>{escape(a)}</th>" for a in ids) + "</tr>")
        for k, g in enumerate(groups, 1):
            cells = []
            for aid in ids:
                mine = [r for r in g if r["article_id"] == aid]
                cells.append("<td>" + "<br>".join(f"{badge(r['label'])} {escape(r['text'])}" for r in mine) + "</td>")
            parts.append(f"<tr><td>{k}</td>{''.join(cells)}</tr>")
        parts.append("</table>")

    parts.append('<h2 id="articles">Articles</h2>')
    for aid, recs in articles.items():
        c = Counter(r["label"] for r in recs)
        counts = ", ".join(f"{lab} {c[lab]}" for lab in LABELS if c[lab])
        parts.append(f'<div class="art"><h3>{escape(aid)}</h3><p class="counts">{counts}</p><p>'
                     + " ".join(sentence_html(r) for r in sorted(recs, key=lambda r: r.get("index", 0))) + "</p></div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(records_path: Path, out: Path, threshold: float) -> None:
    from eval.report import write_atomic

    write_atomic(out, render(load_predictions(records_path), threshold))


def main(argv=None) -> None:
    from data.cli import run

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predictions", required=True, type=Path, help="JSONL written by scripts/predict.py")
    ap.add_argument("--out", required=True, type=Path, help="HTML file to write")
    ap.add_argument("--threshold", type=float, default=0.75, help="cosine similarity for 'same claim'")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args(argv)
    run(lambda: (write_html(args.predictions, args.out, args.threshold), print(f"HTML report -> {args.out}")),
        debug=args.debug)


if __name__ == "__main__":
    main()
