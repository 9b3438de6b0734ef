"""Shared fixtures: an invented mini corpus with stand-off labels, and a tiny random BERT."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# --backend auto picks by CPU: pin the plain fp32 path so results do not depend on the test machine and no
# test writes an ONNX export into a shared model fixture (tests/test_paths.py forces the other paths).
os.environ["STANCE_CPU_FLAGS"] = "avx2"

from data.annotations import make_record, write_records  # noqa: E402
from data.labels import ID2LABEL, LABEL2ID, LABELS  # noqa: E402
from data.segment import segment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Invented sentences, one per label, cycled to make articles. Written by the team.
SENTENCES = {
    "asserted": "The harbour authority said the pier would reopen on Monday.",
    "disputed": "The mayor denied that any money had gone missing from the fund.",
    "unverified": "The report could not be independently verified.",
    "official_figure": "The health ministry said 41 people had been treated in hospital.",
    "unattributed": "The town sits at the mouth of a wide river.",
}


# Who said it in each of them (span texts inside the sentence), as data/GUIDELINES.md marks them.
SPANS = {
    "asserted": {"source": "The harbour authority", "cue": "said", "figure": None},
    "disputed": {"source": "The mayor", "cue": "denied", "figure": None},
    "unverified": {"source": None, "cue": "could not be independently verified", "figure": None},
    "official_figure": {"source": "The health ministry", "cue": "said", "figure": "41 people"},
}


def span_record(corpus: str, aid: str, s) -> dict | None:
    from data.segment import sentence_hash

    marks = SPANS.get(label_of(s.text))
    if marks is None:
        return None
    offsets = {k: None if v is None else [s.text.index(v), s.text.index(v) + len(v)] for k, v in marks.items()}
    return {"corpus": corpus, "article_id": aid, "start": s.start, "end": s.end, "sha1": sentence_hash(s.text),
            **offsets, "annotator": "test"}


def article_text(k: int, n: int = 6, distinct: bool = False) -> str:
    """`distinct`: each sentence names its article, so the build's dropping of training copies of
    held-out sentences leaves these articles' sentences in training."""
    order = [LABELS[(k + i) % len(LABELS)] for i in range(n)]
    sents = [SENTENCES[lab][:-1] + f" in story {k}." if distinct else SENTENCES[lab] for lab in order]
    return f"Headline number {k} for the mini corpus\n" + " ".join(sents)


def label_of(text: str) -> str:
    return next((lab for lab, s in SENTENCES.items() if text == s or text.startswith(s[:-1] + " in story ")),
                "unattributed")


@pytest.fixture
def mini_corpus(tmp_path: Path):
    """A shared/corpora-like folder (seeds, fnc1, reuters) and matching gold annotations."""
    corpus = tmp_path / "corpora"
    (corpus / "seeds").mkdir(parents=True)
    (corpus / "fnc1").mkdir()
    (corpus / "reuters").mkdir()
    ann = tmp_path / "annotations"
    seeds = {f"s{k}": article_text(k) for k in range(3)}
    bodies = {str(100 + k): article_text(k, distinct=True) for k in range(3, 30)}
    wire = {str(k): article_text(k).replace("Headline number", "WIRE STORY") for k in range(30, 45)}
    for aid, text in seeds.items():
        (corpus / "seeds" / f"{aid}.txt").write_text(text)
    for name, arts in (("fnc1", bodies), ("reuters", wire)):
        with open(corpus / name / "train_bodies.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Body ID", "articleBody"])
            w.writerows(arts.items())
    for name, arts in (("seeds", seeds), ("fnc1", bodies), ("reuters", wire)):
        recs = [make_record(name, aid, s.start, s.end, s.text, label_of(s.text), "test")
                for aid, text in arts.items() for s in segment(text)]
        write_records(ann / f"{name}.jsonl", recs)
        spans = [r for aid, text in arts.items() for s in segment(text) if (r := span_record(name, aid, s))]
        (ann / "spans").mkdir(exist_ok=True)
        (ann / "spans" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in spans))
    # the bundled authored corpus always loads, so its labels come along
    (ann / "authored.jsonl").write_bytes((ROOT / "data" / "annotations" / "authored.jsonl").read_bytes())
    return corpus, ann


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with the backbone's tokenizer, saved like a trained model."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from model.backbone import minilm_dir

    path = tmp_path_factory.mktemp("tiny_model")
    tok = AutoTokenizer.from_pretrained(minilm_dir())
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=len(LABELS),
                        id2label=ID2LABEL, label2id=LABEL2ID)
    import torch

    torch.manual_seed(0)  # the same weights every run: unseeded, one draw in many labelled every test sentence alike
    BertForSequenceClassification(config).save_pretrained(path)
    tok.save_pretrained(path)
    (path / "stance_config.json").write_text(json.dumps({"use_context": True, "max_length": 128}))
    return path


@pytest.fixture(scope="session")
def tiny_span_model(tiny_model, tmp_path_factory) -> Path:
    """tiny_model plus a randomly initialised span model in its spans/ folder (the layout stance-train writes)."""
    import shutil

    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from model.spans import TAGS

    path = tmp_path_factory.mktemp("tiny_span_model") / "model"
    shutil.copytree(tiny_model, path)
    tok = AutoTokenizer.from_pretrained(path)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=len(TAGS),
                        id2label=dict(enumerate(TAGS)), label2id={t: i for i, t in enumerate(TAGS)})
    import torch

    torch.manual_seed(0)
    tagger = BertForTokenClassification(config)
    with torch.no_grad():  # peaked random tags, so that decoding's threshold lets some spans of each kind through
        tagger.classifier.weight.mul_(40)
    tagger.save_pretrained(path / "spans")
    tok.save_pretrained(path / "spans")
    return path


def sigint_default() -> None:
    """For a child that the test will Ctrl-C: a shell's background job (how CI may start pytest)
    inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(*args: str, cwd: Path = ROOT):
    import subprocess
    import sys

    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
