"""Who said it: span alignment, decoding, speaker resolution, scoring, and spans in predictions."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from model.spans import TAGS, bio_tags, decode, resolve_sources, source_kind
from tests.conftest import SENTENCES, run_cli


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from model.backbone import minilm_dir

    return AutoTokenizer.from_pretrained(minilm_dir())


def test_tags_decode_back_to_the_marked_spans(tokenizer):
    text = "Indonesian Energy Minister Subroto told reporters that output rose 2.1 pct in January."
    spans = {"source": [0, 34], "cue": [35, 39], "figure": [text.index("2.1 pct"), text.index("2.1 pct") + 7]}
    enc = tokenizer(text, return_offsets_mapping=True)
    tags = bio_tags(enc["offset_mapping"], spans)
    assert tags[0] == tags[-1] == -100  # [CLS], [SEP]
    assert [TAGS[t] for t in tags[1:3]] == ["B-SOURCE", "I-SOURCE"]
    probs = np.full((len(tags), len(TAGS)), 0.01)
    probs[np.arange(len(tags)), [max(t, 0) for t in tags]] = 0.95
    got = decode(text, np.asarray(enc["offset_mapping"]), probs)
    for kind, (s, e) in spans.items():
        assert (got[kind]["start"], got[kind]["end"], got[kind]["text"]) == (s, e, text[s:e])


def test_decode_widens_a_wordpiece_to_its_word_and_picks_the_surest_run(tokenizer):
    text = "Subroto said so, and Witnesses said otherwise."
    enc = tokenizer(text, return_offsets_mapping=True)
    offsets = np.asarray(enc["offset_mapping"])
    probs = np.zeros((len(offsets), len(TAGS)))
    probs[:, 0] = 1.0
    first_piece = 1  # "sub" of "subroto": only the first wordpiece tagged
    probs[first_piece] = [0.2, 0.8, 0, 0, 0, 0, 0]
    witnesses = [i for i, (s, e) in enumerate(offsets) if text[s:e].lower().startswith("witness")][0]
    probs[witnesses] = [0.05, 0.95, 0, 0, 0, 0, 0]
    got = decode(text, offsets, probs)["source"]
    assert got["text"] == "Witnesses"  # the surer of two runs
    probs[witnesses] = [1, 0, 0, 0, 0, 0, 0]
    assert decode(text, offsets, probs)["source"]["text"] == "Subroto"
    assert decode(text, offsets, probs)["cue"] is None
    # of two cue runs, the one holding more probability in all: a long hedge beats a lone surer "said"
    said = [i for i, (s, e) in enumerate(offsets) if text[s:e] == "said"]
    probs[said[0]] = [0.1, 0, 0, 0.9, 0, 0, 0]
    probs[said[1]] = probs[said[1] + 1] = [0.3, 0, 0, 0.6, 0.1, 0, 0]
    assert decode(text, offsets, probs)["cue"]["text"] == "said otherwise"
    probs[said[1] + 1] = [1, 0, 0, 0, 0, 0, 0]
    assert decode(text, offsets, probs)["cue"]["text"] == "said"
    assert decode(text, offsets, probs)["cue"]["start"] == text.index("said")


def rec(article, start, source=None, source_start=None):
    src = None if source is None else {"text": source, "start": start + (source_start or 0)}
    return {"article_id": article, "start": start, "source": src}


def test_pronouns_and_roles_resolve_to_the_nearest_earlier_name():
    recs = resolve_sources([
        rec("a", 0, "Indonesian Energy Minister Subroto"),
        rec("a", 60, "He"),
        rec("a", 90),                                   # no spans: nothing to resolve
        rec("a", 120, "the central bank", 8),           # a role nobody earlier fits: said, not guessed
        rec("a", 180, "Subroto"),                       # a surname takes its fuller first mention
        rec("a", 220, "analysts"),                      # unnamed: stays as written
        rec("a", 250, "the Interior Ministry"),
        rec("a", 290, "the minister", 20),              # a role: the nearest name with its head word
        rec("a", 330, "he"),                            # a pronoun: the latest mention (the minister)
        rec("a", 370, "the ministry"),                  # not the minister mentioned since
        rec("b", 0, "She"),                             # a new article: nobody named yet
    ])
    subroto = "Indonesian Energy Minister Subroto"
    assert [(r["source_resolved"], r["source_resolution"]) for r in recs] == [
        (subroto, "as written"),
        (subroto, "earlier mention"),
        (None, None),
        (None, "not found"),
        (subroto, "earlier mention"),
        ("analysts", "as written"),
        ("the Interior Ministry", "as written"),
        (subroto, "earlier mention"),
        (subroto, "earlier mention"),
        ("the Interior Ministry", "earlier mention"),
        (None, "not found"),
    ]


@pytest.mark.parametrize("source,initial,kind", [
    ("He", True, "pronoun"), ("the spokesman", False, "role"), ("The ministry", True, "role"),
    ("the Interior Ministry", False, "named"), ("Witnesses", True, "unnamed"), ("SUBROTO", True, "named"),
    ("a source familiar with the talks", False, "unnamed"), ("Reuters", False, "named")])
def test_source_kinds(source, initial, kind):
    assert source_kind(source, initial) == kind


def test_span_scores_exact_and_token_overlap():
    from eval.spans import score_spans

    texts = ["The port authority said on Friday it would reopen.", "Output rose, officials said."]
    gold = [{"source": {"start": 0, "end": 18}, "cue": {"start": 19, "end": 23}, "figure": None},
            {"source": {"start": 13, "end": 22}, "cue": {"start": 23, "end": 27}, "figure": None}]
    pred = [{"source": {"start": 4, "end": 18}, "cue": {"start": 19, "end": 23}, "figure": None},  # "port authority"
            {"source": None, "cue": {"start": 23, "end": 27}, "figure": {"start": 0, "end": 6}}]
    m = score_spans(texts, gold, pred, groups=["a", "b"], n_boot=50)
    assert m["cue"]["exact"]["f1"] == 1.0
    assert m["source"]["exact"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "ci95": [0.0, 0.0]}
    # tokens: gold {The, port, authority} + {officials}; predicted {port, authority}
    assert m["source"]["overlap"]["precision"] == 1.0 and m["source"]["overlap"]["recall"] == 0.5
    assert m["figure"]["gold"] == 0 and m["figure"]["predicted"] == 1 and m["figure"]["overlap"]["f1"] == 0.0
    assert m["bootstrap"]["n_articles"] == 2


def test_rule_baseline_on_reporting_verbs():
    from eval.spans import rule_spans

    got = rule_spans("Unemployment rose to 6.1 pct, the statistics office said.", "official_figure")
    assert (got["source"]["text"], got["cue"]["text"], got["figure"]["text"]) == ("the statistics office", "said", "6.1 pct")
    got = rule_spans("According to the health ministry, 312 people died.", "asserted")
    assert got["source"]["text"] == "the health ministry" and got["figure"] is None


def test_build_joins_spans_and_refuses_a_changed_sentence(mini_corpus, tmp_path):
    from datasets import load_from_disk

    from data.build import build
    from data.readers import DataError

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, annotation_dir=ann)
    train = load_from_disk(str(tmp_path / "dd"))["train"]
    # the fixture's FNC-1 sentences name their story ("... in story 7."), so they stay in training
    row = next(r for r in train if r["text"].startswith(SENTENCES["official_figure"][:-1]))
    assert row["spans_known"]
    assert row["text"][slice(*row["figure_span"])] == "41 people"
    assert row["text"][slice(*row["source_span"])] == "The health ministry"
    unattributed = next(r for r in train if r["text"].startswith(SENTENCES["unattributed"][:-1]))
    assert unattributed["spans_known"] and unattributed["source_span"] == []

    spans = ann / "spans" / "fnc1.jsonl"
    first = json.loads(spans.read_text().splitlines()[0])
    spans.write_text(json.dumps(first | {"sha1": "0" * 40}) + "\n")
    with pytest.raises(DataError, match="sha1 mismatch"):
        build(tmp_path / "dd2", corpus, annotation_dir=ann)


def test_predict_spans_index_the_article_exactly(tiny_span_model, tmp_path):
    arts = tmp_path / "in"
    arts.mkdir()
    texts = {"one": f"{SENTENCES['asserted']} He added that {SENTENCES['official_figure'].lower()}\n\n"
                    f"{SENTENCES['unattributed']} {SENTENCES['disputed']}",
             "two": f"{SENTENCES['unverified']} {SENTENCES['asserted']}"}
    for name, text in texts.items():
        (arts / f"{name}.txt").write_text(text)
    out = tmp_path / "p.jsonl"
    res = run_cli("scripts/predict.py", "--model", str(tiny_span_model), "--input", str(arts), "--output", str(out),
                  "--quiet")
    assert res.returncode == 0, res.stderr[-2000:]
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    seen = 0
    for r in recs:
        article = texts[r["article_id"]]
        assert {"source", "cue", "figure", "source_resolved", "source_resolution"} <= set(r)
        for kind in ("source", "cue", "figure"):
            span = r[kind]
            if r["label"] == "unattributed":
                assert span is None
            elif span:
                seen += 1
                assert article[span["start"]:span["end"]] == span["text"]
                assert r["start"] <= span["start"] < span["end"] <= r["end"]
    assert seen  # a random model marks something; its offsets must still be exact

    res = run_cli("scripts/predict.py", "--model", str(tiny_span_model), "--input", str(arts),
                  "--output", str(tmp_path / "p.csv"), "--quiet")
    assert res.returncode == 0, res.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "p.csv", newline="")))
    assert {"source", "source_start", "source_end", "cue", "figure", "source_resolved"} <= set(rows[0])
    assert [row["source"] for row in rows] == [(r["source"] or {}).get("text", "") for r in recs]

    res = run_cli("scripts/predict.py", "--model", str(tiny_span_model), "--input", str(arts),
                  "--output", str(tmp_path / "n.jsonl"), "--quiet", "--no-spans")
    assert "source" not in json.loads((tmp_path / "n.jsonl").read_text().splitlines()[0])


def test_token_classification_pipeline_loads_the_span_model(tiny_span_model):
    from transformers import pipeline

    tagger = pipeline("token-classification", model=str(tiny_span_model / "spans"), aggregation_strategy="simple",
                      device="cpu")
    text = SENTENCES["official_figure"]
    for ent in tagger(text):
        assert ent["entity_group"] in {"SOURCE", "CUE", "FIGURE"}
        assert text[ent["start"]:ent["end"]].lower().replace(" ", "") == ent["word"].replace(" ", "").replace("##", "")


def test_html_shows_who_is_cited():
    from eval.html_report import render

    text = SENTENCES["official_figure"]
    r = {"article_id": "a", "index": 0, "paragraph": 0, "start": 100, "end": 100 + len(text), "text": text,
         "label": "official_figure", "score": 0.9,
         "source": {"text": "The health ministry", "start": 100, "end": 119},
         "cue": {"text": "said", "start": 120, "end": 124}, "figure": {"text": "41 people", "start": 125, "end": 134},
         "source_resolved": "The health ministry", "source_resolution": "as written"}
    page = render({"a": [r]}, embed_fn=lambda t: np.eye(len(t), 8))
    assert '<span class="src" title="source">The health ministry</span>' in page
    assert '<span class="fig" title="figure">41 people</span>' in page
    assert "<th>who is cited</th>" in page and "<td>The health ministry</td>" in page


def test_eval_scores_spans_against_the_rule_baseline(tiny_span_model, mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, annotation_dir=ann)
    res = run_cli("-m", "eval", "--model", str(tiny_span_model), "--data", str(tmp_path / "dd"),
                  "--output-dir", str(tmp_path / "rep"), "--bootstrap", "20")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "who said it, on" in res.stdout and "real sentences with marked spans" in res.stdout
    spans = json.loads((tmp_path / "rep" / "report.json").read_text())["spans"]
    assert set(spans["systems"]) == {"span model", "rules"}
    assert "authored" not in spans["sources"] and spans["sentences"] > 0
    for system in spans["systems"].values():
        lo, hi = system["source"]["overlap"]["ci95"]
        assert 0 <= lo <= system["source"]["overlap"]["f1"] <= hi <= 1
    assert "## Who said it: spans" in (tmp_path / "rep" / "report.md").read_text()


def test_training_scores_spans_only_where_the_gold_label_is_sourced():
    from datasets import Dataset

    from data.labels import LABELS
    from train.spans import gated_scores

    class TagsEverything:  # a span of each kind on every sentence it is given
        def predict(self, texts):
            return [{k: {"text": t[:3], "start": 0, "end": 3} for k in ("source", "cue", "figure")} for t in texts]

    labels = ["asserted", "unattributed", "official_figure", "unattributed", "disputed"]
    none = {f"{k}_span": None for k in ("source", "cue", "figure")}
    rows = Dataset.from_list([{"text": f"Sentence number {i}.", "label": LABELS.index(lab), "spans_known": True,
                               **none, "source_span": [0, 3] if lab != "unattributed" else None}
                              for i, lab in enumerate(labels)])
    scored = gated_scores(TagsEverything(), rows)
    assert scored["sentences"] == 5
    assert scored["source"]["predicted"] == scored["cue"]["predicted"] == 3  # the two unattributed get none
    assert scored["figure"]["predicted"] == 1  # a figure only where the label is official_figure
    assert scored["source"]["exact"]["f1"] == 1.0 and scored["cue"]["exact"]["precision"] == 0.0


def test_a_chunk_with_nothing_to_tag_is_no_error(tiny_span_model):
    from model.spans import SpanAnnotator, load_tagger

    tagger = load_tagger(tiny_span_model, "cpu", "fp32")
    assert tagger.predict([]) == []  # the tokenizer itself fails on an empty list
    recs = [{"article_id": "a", "index": 0, "start": 0, "end": 12, "text": "It was cold.", "label": "unattributed"}]
    SpanAnnotator(tagger)(recs)
    assert recs[0]["source"] is None and recs[0]["cue"] is None
