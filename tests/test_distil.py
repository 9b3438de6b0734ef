"""The MPNet backbone's reassembly and the distillation path (teacher soft labels -> student)."""

import csv
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from data.annotations import make_record, write_records
from data.segment import segment, sentence_hash
from model.backbone import ModelError, assemble_split_zip, mpnet_dir
from tests.conftest import ROOT, article_text, label_of, run_cli


def _split_zip(tmp_path, weights=b"pretend safetensors bytes" * 100, pieces=3):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("all-mpnet-base-v2/model.safetensors", weights)
        z.writestr("all-mpnet-base-v2/config.json", "{}")
        z.writestr("all-mpnet-base-v2/desktop.ini", "clutter")
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
    data = buf.getvalue()
    size = -(-len(data) // pieces)
    parts = []
    for i in range(pieces):
        p = tmp_path / f"model.zip.{i + 1:03d}"
        p.write_bytes(data[i * size:(i + 1) * size])
        parts.append(p)
    return parts, hashlib.sha256(weights).hexdigest()


def test_split_zip_reassembles_once_and_is_hash_checked(tmp_path):
    parts, digest = _split_zip(tmp_path)
    path = mpnet_dir(parts, cache=tmp_path / "cache", sha256=digest)
    assert sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json", "config.json", "model.safetensors"]
    for p in parts:
        p.unlink()  # once cached, the pieces are no longer needed
    assert mpnet_dir(parts, cache=tmp_path / "cache", sha256=digest) == path
    (path / "model.safetensors").write_bytes(b"swapped")
    with pytest.raises(ModelError, match="does not match the pinned"):
        mpnet_dir(parts, cache=tmp_path / "cache", sha256=digest)


@pytest.mark.parametrize("damage", ["flip_byte", "reorder", "missing"])
def test_tampered_or_missing_piece_is_refused(tmp_path, damage):
    parts, digest = _split_zip(tmp_path)
    if damage == "flip_byte":
        raw = bytearray(parts[1].read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        parts[1].write_bytes(bytes(raw))
    elif damage == "reorder":
        parts = [parts[1], parts[0], parts[2]]
    else:
        parts[2].unlink()
    dest = tmp_path / "cache" / "all-mpnet-base-v2"
    with pytest.raises(ModelError):
        assemble_split_zip(parts, dest, digest)
    assert not dest.exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # no half-built folder left behind


def test_missing_mpnet_extra_names_the_extra(monkeypatch):
    import model.backbone as backbone

    monkeypatch.setattr(backbone, "MPNET_PARTS", ["no-such-package-part-001"])
    with pytest.raises(ModelError, match=r"\.\[mpnet\]"):
        backbone.mpnet_parts()


def test_soft_targets_reduce_to_weighted_cross_entropy_on_one_hot():
    import torch
    import torch.nn.functional as F

    from train.trainer import class_weights, make_loss

    torch.manual_seed(0)
    logits, labels = torch.randn(8, 5), torch.tensor([0, 1, 2, 3, 4, 0, 0, 4])
    weights = class_weights([0, 0, 0, 1, 2, 3, 4, 4], "sqrt_inverse")
    out = type("Out", (), {"logits": logits})
    loss = make_loss(weights)
    assert loss(out, F.one_hot(labels, 5).float()).item() == pytest.approx(loss(out, labels).item(), rel=1e-6)
    soft = torch.softmax(torch.randn(8, 5), -1)
    assert loss(out, soft).item() > 0


@pytest.fixture
def corpus_with_unlabelled_text(tmp_path):
    """Articles whose first sentences are gold and whose last sentence (unique per article) is not."""
    corpus, ann = tmp_path / "corpora", tmp_path / "annotations"
    (corpus / "fnc1").mkdir(parents=True)
    bodies = {str(100 + k): article_text(k) + f" Unlabelled closing line number {k} of the pool." for k in range(30)}
    with open(corpus / "fnc1" / "train_bodies.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Body ID", "articleBody"])
        w.writerows(bodies.items())
    recs = [make_record("fnc1", aid, s.start, s.end, s.text, label_of(s.text), "test")
            for aid, text in bodies.items() for s in segment(text)[:-1]]
    write_records(ann / "fnc1.jsonl", recs)
    (ann / "authored.jsonl").write_bytes((ROOT / "data" / "annotations" / "authored.jsonl").read_bytes())
    return corpus, ann


def test_pool_holds_only_unlabelled_text_from_training_articles(corpus_with_unlabelled_text, tmp_path):
    from data.build import build, load_built, load_pool

    corpus, ann = corpus_with_unlabelled_text
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    dd, pool = load_built(tmp_path / "dd"), load_pool(tmp_path / "dd")
    held = {r["article_id"] for split in ("validation", "test") for r in dd[split] if r["source"] == "fnc1"}
    train = {r["article_id"] for r in dd["train"] if r["source"] == "fnc1"}
    assert held and set(pool["article_id"]) == train
    assert all(t.startswith("Unlabelled closing line") for t in pool["text"])
    evaluated = {sentence_hash(t) for split in ("validation", "test") for t in dd[split]["text"]}
    assert not evaluated & {sentence_hash(t) for t in pool["text"]}


def test_student_trains_on_gold_plus_teacher_soft_labels(tiny_model, corpus_with_unlabelled_text, tmp_path):
    from transformers import pipeline

    from data.build import build, load_pool

    corpus, ann = corpus_with_unlabelled_text
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    out = tmp_path / "student"
    res = run_cli("-m", "train", "--data", str(tmp_path / "dd"), "--output-dir", str(out), "--base-model", str(tiny_model),
                  "--teacher", str(tiny_model), "--max-steps", "3", "--device", "cpu", "--distil-temperature", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    pool = load_pool(tmp_path / "dd")
    assert f"{len(pool)} teacher-labelled sentences" in res.stdout
    soft = np.load(out / "teacher_soft_labels.npz")["probs"]
    assert soft.shape == (len(pool), 5) and np.allclose(soft.sum(1), 1, atol=1e-5)
    assert json.loads((out / "stance_config.json").read_text())["teacher"] == [str(tiny_model)]
    assert pipeline("text-classification", model=str(out))("The ministry said 12 schools closed.")[0]["label"]
    # a second run with the same teacher and pool reuses the soft labels
    res = run_cli("-m", "train", "--data", str(tmp_path / "dd"), "--output-dir", str(out), "--base-model", str(tiny_model),
                  "--teacher", str(tiny_model), "--max-steps", "1", "--device", "cpu", "--distil-temperature", "2",
                  "--overwrite")
    assert res.returncode == 0 and "reusing" in res.stdout + res.stderr


def test_teacher_errors_are_one_line(tiny_model, mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)  # every sentence is gold: no pool saved
    args = ("-m", "train", "--data", str(tmp_path / "dd"), "--base-model", str(tiny_model), "--max-steps", "1")
    res = run_cli(*args, "--output-dir", str(tmp_path / "a"), "--teacher", str(tmp_path / "nope"))
    assert res.returncode == 2 and "not a model directory" in res.stderr and "Traceback" not in res.stderr
    res = run_cli(*args, "--output-dir", str(tmp_path / "b"), "--teacher", str(tiny_model))
    assert res.returncode == 2 and "no unlabelled pool" in res.stderr and "Traceback" not in res.stderr


def test_ensemble_teacher_averages_its_members(tiny_model, tmp_path):
    import shutil

    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification

    from model.classifier import Classifier
    from train.distil import teacher_probs

    other = tmp_path / "other"
    shutil.copytree(tiny_model, other)
    m = AutoModelForSequenceClassification.from_pretrained(other)
    m.classifier.weight.data = m.classifier.weight.data.flip(0) * 3  # a teacher that disagrees
    m.save_pretrained(other)
    pool = Dataset.from_dict({"text": ["The mayor denied the report.", "Rain is forecast.", "Police said 3 died."],
                              "context": ["", "", ""]})
    each = [Classifier.load(t, "cpu").predict_proba(pool["text"], pool["context"]) for t in (tiny_model, other)]
    assert not np.allclose(each[0], each[1], atol=1e-3)
    both = teacher_probs([tiny_model, other], pool, tmp_path, 1.0, "cpu")
    assert np.allclose(both, (each[0] + each[1]) / 2, atol=1e-5)
    # the cache is keyed by the teachers: one teacher alone is labelled afresh, not read from the ensemble's cache
    assert np.allclose(teacher_probs([tiny_model], pool, tmp_path, 1.0, "cpu"), each[0], atol=1e-5)
