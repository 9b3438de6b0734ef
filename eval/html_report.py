"""Render labelled articles as one self-contained HTML page.

    stance-html --predictions labels.jsonl --output report.html [--threshold 0.75] [--low-confidence 0.6]
    (the same as `python scripts/report_html.py ...`)

The page has an index of articles (share of sentences per label), the
cross-outlet view (sentences of different articles that carry the same claim,
with each article's label for it and who it is attributed to) and every article
with its paragraphs, each sentence boxed in its label's colour. When the labels
carry spans (a model with a span model), the source is underlined, the cue set
in italics and the figure in bold, and each article opens with a "who is cited"
table: every resolved source with the count of each label it stands behind. Labels scoring below --low-confidence
are outlined and marked "?"; "show scores" prints every score inline (keyboard
users can also tab through sentences to see all five). No network requests
and no JavaScript.

Scale: texts are embedded once however often wire copy repeats them, and
same-claim pairs come from a nearest-neighbour index (faiss HNSW beyond a few
thousand distinct sentences), not from comparing every pair.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from html import escape
from pathlib import Path

from data.cli import ArgumentParser
from data.labels import DESCRIPTIONS, LABELS

# light fill, strong edge: adjacent sentences stay distinct, and unattributed stays visible
COLOURS = {"asserted": ("#d6e6ff", "#3b73c4"), "disputed": ("#ffd0d0", "#c43b3b"),
           "unverified": ("#ffeaa6", "#b08600"), "official_figure": ("#cdf2d5", "#2e8b47"),
           "unattributed": ("#e6e6e6", "#7a7a7a")}
OPEN_ARTICLES = 20  # pages with more articles start with them collapsed
MAX_GROUPS, MAX_MEMBERS = 300, 40  # cross-outlet rows shown; the rest are counted
NEIGHBOURS = 16
EXACT_BELOW = 4000  # distinct sentences under which an exact search is as fast as HNSW

CSS = """
body{font:15px/1.55 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.meta,.counts{font-size:13px;color:#555}
.legend span{display:inline-block;padding:1px 6px;margin:2px;border-radius:3px;font-size:13px}
.s{padding:1px 3px;margin:0 .15em 0 0;border-radius:3px;border-left:3px solid;position:relative;
 box-decoration-break:clone;-webkit-box-decoration-break:clone}
.s.low{outline:2px dashed #555;outline-offset:-1px}
.s .sc{display:none;font-size:11px;color:#333;margin-left:.3em;font-weight:600}
#show-scores:checked~main .s .sc{display:inline}
.s .tip{display:none;position:absolute;left:0;top:1.7em;z-index:5;background:#fff;border:1px solid #999;
 padding:6px 8px;font-size:12px;width:210px;box-shadow:0 2px 6px #0003;font-weight:400}
.s:hover .tip,.s:focus .tip{display:block}.s:focus{outline:2px solid #000}
.tip b{display:block}.tip span{display:block}
.art p{line-height:2;margin:.6em 0}.art p.hl{font-weight:600;font-size:1.05em}
details.art{border:1px solid #ddd;border-radius:4px;padding:.3em .8em;margin:.6em 0}
details.art>summary{cursor:pointer;font-weight:600}
details.claim{border-left:3px solid #bbb;padding-left:.6em;margin:.5em 0}
details.claim>summary{cursor:pointer}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;vertical-align:top}
th{background:#f6f6f6;text-align:left}
.bar{display:inline-flex;width:120px;height:10px;vertical-align:middle}.bar i{display:block;height:10px}
.badge{display:inline-block;padding:0 5px;border-radius:3px;font-size:12px;border-left:3px solid}
label.toggle{font-size:14px;margin-left:.3em}
.src{text-decoration:underline 2px;text-underline-offset:2px}.cue{font-style:italic;color:#333}.fig{font-weight:700}
.who{font-size:13px;color:#333}table.cited{margin:.4em 0 .8em}
"""


def load_predictions(path: Path) -> dict[str, list[dict]]:
    from data.readers import DataError

    if not path.is_file():
        raise DataError(f"{path}: no such predictions file")
    articles: dict[str, list[dict]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                assert rec["label"] in LABELS and "text" in rec and "article_id" in rec
            except (json.JSONDecodeError, KeyError, AssertionError, TypeError):
                raise DataError(f"{path}:{lineno}: not a prediction record from stance-predict") from None
            articles[str(rec["article_id"])].append(rec)
    if not articles:
        raise DataError(f"{path}: no predictions")
    for recs in articles.values():
        recs.sort(key=lambda r: r.get("index", 0))
    return articles


def _embed_distinct(texts: list[str], embed_fn, quiet: bool):
    import numpy as np
    from tqdm import tqdm

    if embed_fn is None:
        from model.embed import embed as embed_fn
    parts = []
    with tqdm(total=len(texts), unit=" sent", desc="embedding for the cross-outlet view", disable=quiet) as bar:
        for i in range(0, len(texts), 512):
            parts.append(np.asarray(embed_fn(texts[i:i + 512]), dtype="float32"))
            bar.update(len(parts[-1]))
    emb = np.concatenate(parts)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def _neighbour_pairs(emb, threshold: float):
    """Pairs (i, j) of rows with cosine >= threshold among each row's nearest neighbours."""
    from data.readers import DataError

    try:
        import faiss
    except ImportError:
        raise DataError('the cross-outlet view needs faiss: pip install -e ".[html]"') from None
    n, dim = emb.shape
    if n < EXACT_BELOW:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 64
    index.add(emb)
    sims, ids = index.search(emb, min(NEIGHBOURS, n))
    for i in range(n):
        for s, j in zip(sims[i], ids[i]):
            if j > i and s >= threshold:
                yield i, int(j)


def same_claim_groups(articles: dict[str, list[dict]], threshold: float, embed_fn=None,
                      quiet: bool = True) -> list[list[dict]]:
    """Sentences of two or more articles that carry the same claim, most widely shared first.

    Each distinct sentence text is one node (wire copy repeated across outlets is one node);
    nodes join when one is among the other's nearest neighbours at cosine >= threshold.
    """
    where: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for aid, recs in articles.items():
        for r in recs:
            if r["label"] != "unattributed":
                where[r["text"]].append((aid, r))
    texts = list(where)
    if len({aid for occ in where.values() for aid, _ in occ}) < 2:
        return []
    parent = list(range(len(texts)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in _neighbour_pairs(_embed_distinct(texts, embed_fn, quiet), threshold):
        parent[find(i)] = find(j)
    comps = defaultdict(list)
    for i, t in enumerate(texts):
        comps[find(i)] += [dict(r, article_id=aid) for aid, r in where[t]]
    groups = [g for g in comps.values() if len({r["article_id"] for r in g}) > 1]
    order = {aid: k for k, aid in enumerate(articles)}
    for g in groups:
        g.sort(key=lambda r: (order[r["article_id"]], r.get("index", 0)))
    return sorted(groups, key=lambda g: (-len({r["article_id"] for r in g}), order[g[0]["article_id"]],
                                         g[0].get("index", 0)))


_HASHLIKE = re.compile(r"[\d_\-]*[0-9a-f]{8,}[\d_\-]*|\d+")


def headline(recs: list[dict]) -> str | None:
    """A short first paragraph of one sentence, standing above the rest of the article."""
    first = [r for r in recs if r.get("paragraph", 0) == 0]
    if len(first) == 1 and any(r.get("paragraph", 0) > 0 for r in recs) and len(first[0]["text"]) <= 200:
        return first[0]["text"]
    return None


def article_title(aid: str, recs: list[dict]) -> str:
    """A headline standing alone in the first paragraph, else the file name, else the opening words."""
    head = headline(recs)
    if head:
        return head.rstrip(".")
    if not _HASHLIKE.fullmatch(aid):
        return aid.replace("_", " ")
    text = recs[0]["text"]
    return text if len(text) <= 90 else text[:90].rsplit(" ", 1)[0] + " …"


def _style(label: str) -> str:
    fill, edge = COLOURS[label]
    return f"background:{fill};border-left-color:{edge}"


def badge(label: str, low: bool = False) -> str:
    return f'<span class="badge" style="{_style(label)}">{escape(label)}{"?" if low else ""}</span>'


SPAN_CLASS = {"source": "src", "cue": "cue", "figure": "fig"}


def marked_text(r: dict) -> str:
    """The sentence with its source, cue and figure spans marked (their offsets are the article's)."""
    text, marks = r["text"], []
    for kind, cls in SPAN_CLASS.items():
        span = r.get(kind)
        if span:
            marks.append((span["start"] - r["start"], span["end"] - r["start"], cls, kind))
    out, pos = [], 0
    for start, end, cls, kind in sorted(marks):
        if start < pos or not 0 <= start < end <= len(text):
            continue  # overlapping or out-of-range spans are shown unmarked rather than garbled
        out += [escape(text[pos:start]), f'<span class="{cls}" title="{kind}">{escape(text[start:end])}</span>']
        pos = end
    return "".join(out) + escape(text[pos:])


def who(r: dict) -> str:
    """Who a sentence's claim is attributed to, for tables: the resolved source, or why there is none."""
    if r.get("source_resolved"):
        return r["source_resolved"]
    if r.get("source"):
        return f"{r['source']['text']} (not resolved)"
    return "no source named"


def sentence_html(r: dict, low_conf: float) -> str:
    scores = r.get("scores") or {r["label"]: r.get("score", 1.0)}
    score = float(r.get("score", scores.get(r["label"], 1.0)))
    low = score < low_conf
    tip = "".join(f"<span>{escape(lab)} {float(scores.get(lab, 0)):.2f}</span>" for lab in LABELS)
    if "source" in r and r["label"] != "unattributed":
        tip += f"<span>who: {escape(who(r))}</span>"
    mark = "?" if low else ""
    return (f'<span class="s{" low" if low else ""}" tabindex="0" style="{_style(r["label"])}">{marked_text(r)}'
            f'<span class="sc">{escape(r["label"])}{mark} {score:.2f}</span>'
            f'<span class="tip"><b>{escape(r["label"])}{mark}</b>{tip}</span></span>')


def cited_table(recs: list[dict]) -> str:
    """Per article: each resolved source with how many sentences of each sourced label rest on it."""
    sourced = [lab for lab in LABELS if lab != "unattributed"]
    table: dict[str, Counter] = defaultdict(Counter)
    for r in recs:
        if r["label"] != "unattributed":
            table[who(r)][r["label"]] += 1
    if not table:
        return ""
    rows = sorted(table.items(), key=lambda kv: (kv[0] == "no source named", -sum(kv[1].values()), kv[0]))
    return ('<table class="cited"><tr><th>who is cited</th>' + "".join(f"<th>{lab}</th>" for lab in sourced) + "</tr>"
            + "".join(f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{c[lab] or ''}</td>" for lab in sourced) + "</tr>"
                      for name, c in rows) + "</table>")


def _share_bar(c: Counter, n: int) -> str:
    return '<span class="bar">' + "".join(
        f'<i style="width:{100 * c[lab] / n:.1f}%;background:{COLOURS[lab][1]}" title="{lab} {c[lab]}"></i>'
        for lab in LABELS if c[lab]) + "</span>"


def render(articles: dict[str, list[dict]], threshold: float = 0.75, embed_fn=None,
           title: str = "Source-stance report", low_conf: float = 0.6, quiet: bool = True) -> str:
    n_sent = sum(map(len, articles.values()))
    anchors = {aid: f"a{k}" for k, aid in enumerate(articles)}
    titles = {aid: article_title(aid, recs) for aid, recs in articles.items()}
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>",
             f'<p class="meta">{len(articles)} article(s), {n_sent} sentence(s). Each sentence is boxed in the colour '
             f"of its label. Labels scoring below {low_conf:.2f} are outlined with dashes and marked “?”.</p>",
             '<p class="legend">' + "".join(f'<span style="{_style(lab)}" title="{escape(DESCRIPTIONS[lab])}">'
                                            f"{escape(lab)}</span>" for lab in LABELS)
             + f'<span class="low" style="outline:2px dashed #555">label? = score &lt; {low_conf:.2f}</span></p>',
             ('<p class="legend">Who said it: <span class="src">source</span> <span class="cue">cue</span> '
              '<span class="fig">figure</span>; “who” is the source, with a “he” or “the spokesman” resolved to the '
              "name given earlier in the article.</p>" if any("source" in r for recs in articles.values() for r in recs)
              else ""),
             '<input type="checkbox" id="show-scores"><label class="toggle" for="show-scores">show every label and '
             "score inline</label> <span class=\"meta\">(or Tab through the sentences to see all five scores)</span>",
             "<main>"]

    parts.append('<h2 id="index">Articles</h2><table class="summary"><tr><th>#</th><th>article</th><th>sentences</th>'
                 "<th>labels</th>" + "".join(f"<th>{escape(lab)}</th>" for lab in LABELS) + "</tr>")
    for k, (aid, recs) in enumerate(articles.items(), 1):
        c = Counter(r["label"] for r in recs)
        parts.append(f'<tr><td>{k}</td><td><a href="#{anchors[aid]}">{escape(titles[aid])}</a></td><td>{len(recs)}</td>'
                     f"<td>{_share_bar(c, len(recs))}</td>"
                     + "".join(f"<td>{c[lab]}</td>" for lab in LABELS) + "</tr>")
    parts.append("</table>")

    groups = same_claim_groups(articles, threshold, embed_fn, quiet)
    parts.append(f'<h2 id="cross-outlet">Same claim across outlets</h2><p class="counts">Sentences from different '
                 f"articles with cosine similarity ≥ {threshold:.2f} (backbone embeddings, nearest neighbours): "
                 f"{len(groups)} claim(s) shared by two or more articles"
                 + (f"; the {MAX_GROUPS} most widely shared are listed" if len(groups) > MAX_GROUPS else "") + ".</p>")
    for g in groups[:MAX_GROUPS]:
        by_art: dict[str, list[dict]] = defaultdict(list)
        for r in g:
            by_art[r["article_id"]].append(r)
        c = Counter(r["label"] for r in g)
        head = Counter(r["text"] for r in g).most_common(1)[0][0]
        rows = [f'<tr><td><a href="#{anchors[aid]}">{escape(titles[aid])}</a></td><td>'
                + "<br>".join(f"{badge(r['label'], float(r.get('score', 1)) < low_conf)}"
                              + (f" <span class=who>— {escape(who(r))}</span>" if "source" in r else "")
                              + f" {marked_text(r)}" for r in rs)
                + "</td></tr>" for aid, rs in list(by_art.items())[:MAX_MEMBERS]]
        more = len(by_art) - MAX_MEMBERS
        parts.append(f'<details class="claim"><summary>{escape(head)} <span class="counts">— {len(by_art)} articles: '
                     + ", ".join(f"{c[lab]} {lab}" for lab in LABELS if c[lab]) + "</span></summary>"
                     + '<table class="cross"><tr><th>article</th><th>its sentence(s), label and who it rests on</th></tr>'
                     + "".join(rows) + "</table>"
                     + (f'<p class="counts">and {more} more article(s)</p>' if more > 0 else "") + "</details>")

    parts.append('<h2 id="articles">Article text</h2>')
    opened = " open" if len(articles) <= OPEN_ARTICLES else ""
    for aid, recs in articles.items():
        c = Counter(r["label"] for r in recs)
        counts = ", ".join(f"{lab} {c[lab]}" for lab in LABELS if c[lab])
        paras: dict[int, list[dict]] = defaultdict(list)
        for r in recs:
            paras[r.get("paragraph", 0)].append(r)
        has_headline = headline(recs) is not None
        body = "".join(f'<p{" class=hl" if has_headline and p == min(paras) else ""}>'
                       + " ".join(sentence_html(r, low_conf) for r in rs) + "</p>" for p, rs in sorted(paras.items()))
        cited = cited_table(recs) if any("source" in r for r in recs) else ""
        parts.append(f'<details class="art" id="{anchors[aid]}"{opened}><summary>{escape(titles[aid])} '
                     f'<span class="counts">({escape(aid)}; {counts})</span></summary>{cited}{body}</details>')
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_html(records_path: Path, out: Path, threshold: float = 0.75, low_conf: float = 0.6,
               quiet: bool = False) -> None:
    from data.cli import write_atomic

    write_atomic(out, render(load_predictions(records_path), threshold, low_conf=low_conf, quiet=quiet))


def main(argv=None) -> None:
    from data.cli import run

    ap = ArgumentParser(prog="stance-html", description=__doc__)
    ap.add_argument("--predictions", required=True, type=Path, help="JSONL written by stance-predict")
    ap.add_argument("--output", "--out", required=True, type=Path, help="HTML file to write")
    ap.add_argument("--threshold", type=float, default=0.75, help="cosine similarity for 'same claim'")
    ap.add_argument("--low-confidence", type=float, default=0.6,
                    help="labels scoring below this are outlined and marked '?'")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)
    run(lambda: (write_html(args.predictions, args.output, args.threshold, args.low_confidence, args.quiet),
                 print(f"HTML report -> {args.output}")), debug=args.debug)


if __name__ == "__main__":
    main()
