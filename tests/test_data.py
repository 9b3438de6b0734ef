import json
from collections import Counter

import pytest

from data.annotations import join, load_records
from data.build import annotated_sentences, assign_splits, build, load_corpora
from data.labels import ID2LABEL, LABEL2ID, LABELS, class_label, label_id
from data.readers import DataError, read_articles
from data.segment import segment, sentence_hash


def test_label_schema_round_trip():
    assert list(LABELS) == ["asserted", "disputed", "unverified", "official_figure", "unattributed"]
    for i, name in ID2LABEL.items():
        assert LABEL2ID[name] == i == label_id(name)
    assert class_label().names == list(LABELS)
    with pytest.raises(ValueError, match="unknown label"):
        label_id("neutral")


def test_segment_offsets_are_exact():
    text = "Storm hits coast\n\nThe agency said 3 people died. Mr. Vale, a farmer, disagreed!  Roads  closed.\r\nEnd of report"
    sents = segment(text)
    assert [s.text for s in sents] == ["Storm hits coast", "The agency said 3 people died.",
                                      "Mr. Vale, a farmer, disagreed!", "Roads  closed.", "End of report"]
    for s in sents:
        assert text[s.start:s.end] == s.text
    assert [s.index for s in sents] == list(range(len(sents)))


def test_readers_txt_jsonl_csv(tmp_path):
    (tmp_path / "a.txt").write_bytes("\ufeffFirst line.\r\nSecond line.".encode())
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": 7, "text": "Body.", "title": "T", "date": "2024"}) + "\n")
    arts = {a.id: a for a in read_articles(tmp_path)}
    assert arts["a"].text == "First line.\nSecond line."  # BOM and CRLF normalised
    assert arts["7"].title == "T" and arts["7"].meta == {"date": "2024"}
    csv_path = tmp_path / "bodies.csv"
    csv_path.write_text('Body ID,articleBody\n1,"Line one.\nLine two."\n')
    assert read_articles(csv_path)[0].text == "Line one.\nLine two."
    with pytest.raises(DataError, match="missing column"):
        read_articles(csv_path, text_column="body")


def test_reader_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"id": 1, "text": "ok"}\n{"id": 2,\n')
    with pytest.raises(DataError, match=r"x.jsonl:2: bad JSONL record"):
        read_articles(bad)
    assert [a.id for a in read_articles(bad, skip_bad=True)] == ["1"]
    dup = tmp_path / "d.jsonl"
    dup.write_text('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n')
    with pytest.raises(DataError, match="duplicate article id"):
        read_articles(dup)
    with pytest.raises(DataError, match="no such file"):
        read_articles(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \.txt, .* files in this folder"):
        read_articles(tmp_path / "empty")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(DataError, match="binary"):
        read_articles(tmp_path / "bin.txt")


def test_standoff_join_and_its_errors(mini_corpus):
    corpus, ann = mini_corpus
    arts = {a.id: a for a in read_articles(corpus / "fnc1" / "train_bodies.csv")}
    recs = load_records(ann / "fnc1.jsonl")
    rows = join(recs, arts)
    assert all(arts[r.article_id].text[r.start:r.end] == r.text for r in rows)
    assert rows[1].context == rows[0].text and rows[0].context == ""

    tampered = dict(recs[3], sha1=sentence_hash("something else"))
    with pytest.raises(DataError, match=r"fnc1.jsonl:4: sha1 mismatch"):
        join([tampered], arts)
    with pytest.raises(DataError, match="out of range"):
        join([dict(recs[0], end=10**6)], arts)
    with pytest.raises(DataError, match="not found"):
        join([dict(recs[0], article_id="nope")], arts)
    bad = ann / "bad.jsonl"
    bad.write_text(json.dumps(dict({k: v for k, v in recs[0].items() if k != "_where"}, label="neutral")) + "\n")
    with pytest.raises(DataError, match="unknown label 'neutral'"):
        load_records(bad)


def test_splits_grouped_by_article_and_deterministic(mini_corpus, tmp_path):
    corpus, ann = mini_corpus
    table = build(tmp_path / "dd", corpus, seed=3, annotation_dir=ann)
    from datasets import load_from_disk

    dd = load_from_disk(str(tmp_path / "dd"))
    assert set(dd) == {"train", "validation", "test"}
    assert {"id", "article_id", "source", "text", "context", "label"} <= set(dd["train"].column_names)
    assert dd["train"].features["label"].names == list(LABELS)
    articles = {split: {(r["source"], r["article_id"]) for r in dd[split]} for split in dd}
    assert not articles["train"] & articles["test"] and not articles["train"] & articles["validation"]
    assert not articles["validation"] & articles["test"]
    # the bundled authored corpus trains; evaluation holds real articles only
    assert {r["source"] for r in dd["test"]} <= {"seeds", "fnc1", "reuters"}
    assert {r["source"] for r in dd["validation"]} <= {"seeds", "fnc1", "reuters"}
    assert "authored" in {r["source"] for r in dd["train"]}
    assert table["test"]["all"]["total"] == len(dd["test"])
    assert (tmp_path / "dd" / "counts.md").read_text().startswith("| split | source |")
    build(tmp_path / "dd2", corpus, seed=3, annotation_dir=ann)
    again = load_from_disk(str(tmp_path / "dd2"))
    assert again["test"]["id"] == dd["test"]["id"]


def test_stratified_split_spreads_rare_labels():
    groups = {f"a{i}": Counter({"asserted": 10}) for i in range(40)}
    groups |= {f"r{i}": Counter({"official_figure": 1, "asserted": 5}) for i in range(20)}
    out = assign_splits(groups, seed=0)
    rare = Counter(out[g] for g in groups if g.startswith("r"))
    assert rare["test"] == 4 and rare["validation"] == 3 and rare["train"] == 13


def test_bundled_and_committed_annotations_join(tmp_path):
    """Every committed gold record joins with its corpus text and carries one of the five labels."""
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared" / "corpora"
    corpora = load_corpora(shared if shared.is_dir() else None)
    rows = annotated_sentences(corpora)  # raises on any hash/offset mismatch
    assert all(r.label in LABELS for r in rows)
    by_source = Counter(r.corpus for r in rows)
    assert by_source["authored"] >= 1200
    if shared.is_dir():
        assert by_source["fnc1"] >= 4000 and by_source["seeds"] > 0


def test_reuters_is_a_corpus_of_the_builder_and_joins_like_the_rest(mini_corpus, tmp_path):
    from data.annotations import load_records
    from data.build import build, load_built

    corpus, ann = mini_corpus
    recs = load_records(ann / "reuters.jsonl")
    arts = {a.id: a for a in read_articles(corpus / "reuters" / "train_bodies.csv")}
    rows = join(recs, arts)
    assert rows and all(arts[r.article_id].text[r.start:r.end] == r.text for r in rows)
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    dd = load_built(tmp_path / "dd")
    # every record's sentence is there (a training copy of a held-out sentence survives as that sentence)
    built = {t for split in dd for s, t in zip(dd[split]["source"], dd[split]["text"]) if s == "reuters"}
    assert built == {r.text for r in rows} and len(rows) == len(recs)
    # a Reuters record whose text changed is refused, naming the record
    bad = dict(recs[0], sha1="0" * 40)
    (ann / "reuters.jsonl").write_text("\n".join(json.dumps(r) for r in [bad, *recs[1:]]) + "\n")
    with pytest.raises(DataError, match="reuters"):
        build(tmp_path / "dd2", corpus, seed=0, annotation_dir=ann)


def test_pinned_splits_keep_old_articles_where_they_were(mini_corpus, tmp_path):
    from data.build import build, load_built

    corpus, ann = mini_corpus
    build(tmp_path / "a", corpus, seed=0, annotation_dir=ann)
    first = (tmp_path / "a" / "splits.tsv").read_text()
    # pin them, then build with another seed: every pinned article stays in its split
    (ann / "splits.tsv").write_text(first)
    build(tmp_path / "b", corpus, seed=99, annotation_dir=ann)
    assert (tmp_path / "b" / "splits.tsv").read_text() == first
    unpinned = tmp_path / "ann2"
    unpinned.mkdir()
    for f in ann.glob("*.jsonl"):
        (unpinned / f.name).write_bytes(f.read_bytes())
    build(tmp_path / "c", corpus, seed=99, annotation_dir=unpinned)
    assert (tmp_path / "c" / "splits.tsv").read_text() != first  # the seed alone would have moved some
    assert len(load_built(tmp_path / "b")["test"]) > 0


def test_span_records_index_their_sentence_exactly(mini_corpus):
    from data.annotations import join_spans
    from scripts.annotation.import_spans import locate

    corpus, _ = mini_corpus
    arts = {a.id: a for a in read_articles(corpus / "reuters" / "train_bodies.csv")}
    art = next(iter(arts.values()))
    marks = {"The harbour authority said the pier would reopen on Monday.": ("The harbour authority", "said", None),
             "The report could not be independently verified.": (None, "could not be independently verified", None),
             "The health ministry said 41 people had been treated in hospital.": ("The health ministry", "said", "41 people")}
    recs = []
    for s in segment(art.text):
        if s.text in marks:
            src, cue, fig = marks[s.text]
            recs.append({"corpus": "reuters", "article_id": art.id, "start": s.start, "end": s.end,
                         "sha1": sentence_hash(s.text), "source": locate(s.text, src), "cue": locate(s.text, cue),
                         "figure": locate(s.text, fig), "annotator": "test"})
    joined = join_spans(recs, arts)
    assert len(joined) == len(recs) and {j["text"] for j in joined} == set(marks)
    for j in joined:
        src, cue, fig = marks[j["text"]]
        assert (j["source"] and j["source"]["text"]) == (src or None) and j["cue"]["text"] == cue
        assert (j["figure"] and j["figure"]["text"]) == (fig or None)
        for kind in ("source", "cue", "figure"):
            if j[kind]:  # offsets index the sentence, and through its start the article
                assert j["text"][j[kind]["start"]:j[kind]["end"]] == j[kind]["text"]
                assert art.text[j["start"] + j[kind]["start"]:j["start"] + j[kind]["end"]] == j[kind]["text"]
    assert locate("a said b said", "said", 2) == [9, 13]
    with pytest.raises(ValueError):
        locate("no such words here", "said")
    with pytest.raises(DataError, match="outside the sentence"):
        join_spans([dict(recs[0], cue=[0, 10_000])], arts)
    with pytest.raises(DataError, match="sha1 mismatch"):
        join_spans([dict(recs[0], sha1="0" * 40)], arts)


def test_a_training_copy_of_a_held_out_sentence_is_dropped():
    """FNC-1 bodies repeat wire copy: a training sentence identical to a test sentence would let the
    model score the test on memory, so the build drops it (and only it) from training."""
    from data.annotations import Labelled
    from data.build import drop_held_copies

    def row(aid, text, label="asserted"):
        return Labelled("fnc1", aid, 0, len(text), text, "", label, "test")

    wire = "The ministry said the dam held."
    splits = {"train": [row("1", wire), row("1", "Officials said more."), row("2", "A new sentence.")],
              "validation": [row("3", "Something else.")], "test": [row("4", wire)]}
    assert drop_held_copies(splits) == 1
    assert [r.text for r in splits["train"]] == ["Officials said more.", "A new sentence."]
    assert [r.text for r in splits["test"]] == [wire]
    assert drop_held_copies(splits) == 0
