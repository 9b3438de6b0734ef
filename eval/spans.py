"""Span scores (source, cue, figure): exact and token-overlap P/R/F1, article bootstrap, a rule baseline.

One scoring function serves the model, the rule baseline and inter-annotator
agreement, so the three numbers are comparable. Spans are dicts with "start" and
"end" inside the sentence (or None); each sentence has at most one per kind.
"""

from __future__ import annotations

import re

import numpy as np

from data.annotations import SPAN_TYPES

TOKEN = re.compile(r"\w+|[^\w\s]")


def gold_spans(rows) -> list[dict | None]:
    """Gold spans of a built split (kind -> {"start", "end"} or None), None where nobody marked them."""
    def one(r):
        return {k: {"start": r[f"{k}_span"][0], "end": r[f"{k}_span"][1]} if r[f"{k}_span"] else None
                for k in SPAN_TYPES} if r["spans_known"] else None
    return [one(r) for r in rows]


def _tokens(text: str, span) -> set[int]:
    if not span:
        return set()
    return {m.start() for m in TOKEN.finditer(text) if m.start() < span["end"] and span["start"] < m.end()}


def counts(texts, gold: list[dict], pred: list[dict]) -> np.ndarray:
    """Per sentence and kind: [exact hits, gold spans, predicted spans, shared tokens, gold tokens, predicted tokens]."""
    out = np.zeros((len(texts), len(SPAN_TYPES), 6), dtype=np.int64)
    for i, (text, g, p) in enumerate(zip(texts, gold, pred)):
        for k, kind in enumerate(SPAN_TYPES):
            gs, ps = g.get(kind), p.get(kind)
            same = bool(gs and ps and (gs["start"], gs["end"]) == (ps["start"], ps["end"]))
            gt, pt = _tokens(text, gs), _tokens(text, ps)
            out[i, k] = (same, gs is not None, ps is not None, len(gt & pt), len(gt), len(pt))
    return out


def _prf(hit, n_gold, n_pred) -> dict:
    p = hit / n_pred if n_pred else 0.0
    r = hit / n_gold if n_gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def summarise(c: np.ndarray) -> dict:
    total = c.sum(0)
    return {kind: {"gold": int(t[1]), "predicted": int(t[2]), "exact": _prf(t[0], t[1], t[2]),
                   "overlap": _prf(t[3], t[4], t[5])} for kind, t in zip(SPAN_TYPES, total)}


def score_spans(texts, gold, pred, groups=None, n_boot: int = 1000, seed: int = 0) -> dict:
    """Pooled scores per kind; with `groups` (article ids), 95% CIs of each F1 from an article bootstrap."""
    c = counts(texts, gold, pred)
    report = summarise(c)
    if groups is None or n_boot <= 0:
        return report
    uniq, inverse = np.unique(np.asarray(groups), return_inverse=True)
    per_article = np.zeros((len(uniq),) + c.shape[1:], dtype=np.int64)
    np.add.at(per_article, inverse, c)
    rng = np.random.default_rng(seed)
    draws = [summarise(per_article[rng.integers(0, len(uniq), len(uniq))]) for _ in range(n_boot)]
    for kind in SPAN_TYPES:
        for how in ("exact", "overlap"):
            f1s = [d[kind][how]["f1"] for d in draws]
            report[kind][how]["ci95"] = [float(np.percentile(f1s, 2.5)), float(np.percentile(f1s, 97.5))]
    report["bootstrap"] = {"n_resamples": n_boot, "unit": "article", "n_articles": int(len(uniq))}
    return report


# --- the rule baseline: reporting-verb patterns, in the spirit of textacy's quotation rules -------

CUES = (r"according to|citing|quoted as saying|was quoted|declined to comment|did not respond|"
        r"could not be (?:independently )?(?:verified|confirmed)|reportedly|allegedly|"
        r"(?:said|says|say|told|added|stated|announced|reported|claimed|claims|denied|denies|deny|"
        r"confirmed|estimated|warned|insisted|argued|noted|believes?|expects?|predicted|according)")
CUE = re.compile(rf"\b(?:{CUES})\b", re.IGNORECASE)
FIGURE = re.compile(r"(?<![\w.])\d[\d,.]*\s*(?:pct|percent|per cent|%|mln|million|bln|billion|dlrs|"
                    r"tonnes|people|barrels|bpd)?(?:\s+(?:dlrs|tonnes|barrels|bpd|people))?", re.IGNORECASE)
STOP = re.compile(r"[,;:\"“”()]|\bthat\b|\band\b|\bbut\b|\bwho\b", re.IGNORECASE)
STOP_AFTER = re.compile(r"[,;:.\"“”()]|\b(?:that|on|in|at|to|and|but|who|which|as)\b")


def _span(text, start, end) -> dict | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1] in " \t\n,.;:":
        end -= 1
    return {"text": text[start:end], "start": start, "end": end} if end > start else None


def rule_spans(text: str, label: str | None = None) -> dict:
    """Cue = the first reporting word; source = the noun phrase before it (up to a comma, "that", a quote)
    or, for "according to X" and inverted "said X", the one after; figure = the first number with its unit."""
    out: dict = dict.fromkeys(SPAN_TYPES)
    m = CUE.search(text)
    if m:
        out["cue"] = _span(text, m.start(), m.end())
        cue = m.group(0).lower()
        before = text[: m.start()]
        stops = list(STOP.finditer(before))
        left = _span(text, stops[-1].end() if stops else 0, m.start())
        if cue.startswith(("according", "citing")) or left is None or len(left["text"].split()) > 6:
            after = text[m.end():]
            stop = STOP_AFTER.search(after)
            right = _span(text, m.end(), m.end() + (stop.start() if stop else len(after)))
            out["source"] = right if right and len(right["text"].split()) <= 6 else None
        else:
            out["source"] = left
    f = FIGURE.search(text) if label == "official_figure" else None
    if f:
        out["figure"] = _span(text, f.start(), f.end())
    return out


def gated_predictions(tagger, texts: list[str], labels: list[str]) -> list[dict]:
    """The tagger's spans as stance-predict gives them under these labels (model.spans.for_label): only
    sentences with a sourced label are tagged."""
    from model.spans import for_label

    sourced = [j for j, lab in enumerate(labels) if lab != "unattributed"]
    tagged = dict(zip(sourced, tagger.predict([texts[j] for j in sourced])))
    return [for_label(tagged.get(j), lab) for j, lab in enumerate(labels)]


def evaluate_spans(es, predicted: list[int], tagger, n_boot: int = 1000, seed: int = 0) -> dict | None:
    """The span model against the rule baseline on the real sentences whose spans are known.

    Both are gated by the classifier's label, as in stance-predict (model.spans.for_label):
    a sentence labelled unattributed gets no spans, and only an official_figure gets a
    figure. None when the data has no span gold.
    """
    from data.labels import LABELS

    idx = [i for i, g in enumerate(es.spans) if g is not None and es.sources[i] != "authored"]
    if not idx or tagger is None:
        return None
    texts = [es.texts[i] for i in idx]
    labels = [LABELS[predicted[i]] for i in idx]
    from model.spans import for_label

    systems = {"span model": gated_predictions(tagger, texts, labels),
               "rules": [for_label(rule_spans(t, lab), lab) for t, lab in zip(texts, labels)]}
    gold, groups = [es.spans[i] for i in idx], [f"{es.sources[i]}:{es.articles[i]}" for i in idx]
    return {"sentences": len(idx), "articles": len(set(groups)), "sources": sorted({es.sources[i] for i in idx}),
            "systems": {name: score_spans(texts, gold, pred, groups, n_boot, seed) for name, pred in systems.items()}}


def markdown(report: dict) -> list[str]:
    lines = ["", "## Who said it: spans", "",
             f"{report['sentences']} real sentences with marked spans ({', '.join(report['sources'])}; "
             f"{report['articles']} articles), spans given only where the classifier's label is sourced. "
             "F1 with 95% article-bootstrap CIs; overlap counts shared word tokens.", "",
             "| system | span | gold | predicted | exact P | exact R | exact F1 | overlap P | overlap R | overlap F1 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, rep in report["systems"].items():
        for kind in SPAN_TYPES:
            m = rep[kind]
            ci = lambda how: f" [{m[how]['ci95'][0]:.3f}, {m[how]['ci95'][1]:.3f}]" if "ci95" in m[how] else ""
            lines.append(f"| {name} | {kind} | {m['gold']} | {m['predicted']} | {m['exact']['precision']:.3f} | "
                         f"{m['exact']['recall']:.3f} | {m['exact']['f1']:.3f}{ci('exact')} | "
                         f"{m['overlap']['precision']:.3f} | {m['overlap']['recall']:.3f} | "
                         f"{m['overlap']['f1']:.3f}{ci('overlap')} |")
    return lines
