import json
import shutil

import numpy as np
import pytest

from data.labels import LABELS
from tests.conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def other_model(tiny_model, tmp_path_factory):
    """tiny_model with other random weights: a second member that disagrees with the first."""
    import torch
    from safetensors.torch import load_file, save_file

    path = tmp_path_factory.mktemp("other") / "model"
    shutil.copytree(tiny_model, path)
    gen = torch.Generator().manual_seed(7)
    weights = {k: v + 0.5 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v
               for k, v in load_file(path / "model.safetensors").items()}
    save_file(weights, path / "model.safetensors", metadata={"format": "pt"})
    return path


@pytest.fixture(scope="module")
def ensemble(tiny_span_model, other_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "ensemble"
    res = run_cli("scripts/make_ensemble.py", "--member", str(other_model), "--member", str(tiny_span_model),
                  "--output-dir", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    return out


def test_an_ensemble_averages_its_members_probabilities(ensemble, tiny_span_model, other_model):
    from model.classifier import Classifier

    texts = ["The ministry said exports rose 4 percent.", "It was a cold day.", "Officials denied the report."]
    members = [Classifier.load(m, "cpu").predict_proba(texts) for m in (other_model, tiny_span_model)]
    assert np.abs(members[0] - members[1]).max() > 1e-3  # the members differ, so the mean is a real test
    ens = Classifier.load(ensemble, "cpu")
    assert np.allclose(ens.predict_proba(texts), np.mean(members, axis=0), atol=1e-6)
    # the folder stands alone, and takes the span model of the member that has one
    assert (ensemble / "spans" / "model.safetensors").is_file() and not (ensemble / "members" / "0" / "spans").exists()


def test_stance_predict_runs_an_ensemble_with_spans_on_torch_and_onnx(ensemble, tiny_span_model, other_model, tmp_path):
    from model.classifier import Classifier

    ens = tmp_path / "ensemble"
    shutil.copytree(ensemble, ens)
    res = run_cli("scripts/export_onnx.py", "--model", str(ens), "--quantize", "int8")
    assert res.returncode == 0, res.stderr[-2000:]
    assert all((ens / f / "onnx" / "model.int8.onnx").is_file() for f in ("members/0", "members/1", "spans"))
    outs = {}
    for name, extra in (("torch", ["--backend", "torch", "--dtype", "fp32"]), ("onnx", ["--backend", "onnx"]),
                        ("int8", ["--backend", "onnx", "--quantize", "int8"])):
        res = run_cli("scripts/predict.py", "--model", str(ens), "--input", str(ROOT / "data" / "examples"),
                      "--output", str(tmp_path / f"{name}.jsonl"), "--quiet", *extra)
        assert res.returncode == 0, res.stderr[-2000:]
        outs[name] = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    recs = outs["torch"]
    texts = [r["text"] for r in recs]
    contexts = [p["text"] if i and p["article_id"] == r["article_id"] else "" for i, (p, r) in
                enumerate(zip([recs[0], *recs], recs))]  # the previous sentence of the same article
    mean = np.mean([Classifier.load(m, "cpu").predict_proba(texts, contexts) for m in (other_model, tiny_span_model)], 0)
    assert np.allclose([[r["scores"][k] for k in LABELS] for r in recs], mean, atol=1e-4)
    assert "source" in recs[0]  # the span model ran
    assert [r["label"] for r in outs["onnx"]] == [r["label"] for r in recs]  # the members' exported graphs
    assert max(abs(x["scores"][k] - y["scores"][k]) for x, y in zip(outs["onnx"], recs) for k in LABELS) < 1e-4
    assert len(outs["int8"]) == len(recs) and all(r["label"] in LABELS for r in outs["int8"])


def test_a_member_retrained_changes_the_ensembles_fingerprint(ensemble, tmp_path):
    from safetensors.torch import load_file, save_file

    from model.ensemble import weights_hash

    ens = tmp_path / "ensemble"
    shutil.copytree(ensemble, ens)
    before = weights_hash(ens)
    w = ens / "members" / "1" / "model.safetensors"
    save_file({k: v * 1.01 for k, v in load_file(w).items()}, w, metadata={"format": "pt"})
    assert weights_hash(ens) != before  # so --resume and the cached ONNX graphs notice


def test_make_ensemble_refuses_bad_input_in_one_line(tiny_model, other_model, ensemble, tmp_path):
    out = tmp_path / "e"
    cases = [
        (["--member", str(tiny_model)], "at least 2"),
        (["--member", str(tiny_model), "--member", str(tmp_path / "missing")], "not a model directory"),
        (["--member", str(tiny_model), "--member", str(ensemble)], "is an ensemble itself"),
        (["--member", str(tiny_model), "--member", str(other_model), "--output-dir", str(tiny_model)], "is one of the members"),
    ]
    for args, message in cases:
        if "--output-dir" not in args:
            args = [*args, "--output-dir", str(out)]
        res = run_cli("scripts/make_ensemble.py", *args)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert not out.exists() and not (tmp_path / "e.tmp").exists()
    res = run_cli("scripts/make_ensemble.py", "--member", str(tiny_model), "--member", str(other_model),
                  "--output-dir", str(ensemble))
    assert res.returncode == 2 and "already exists" in res.stderr


def test_the_harness_scores_an_ensemble_beside_its_members(ensemble, tiny_span_model, mini_corpus, tmp_path):
    from data.build import build

    corpus, ann = mini_corpus
    build(tmp_path / "dd", corpus, seed=0, annotation_dir=ann)
    out = tmp_path / "cmp"
    res = run_cli("-m", "eval", "--compare", "--data", str(tmp_path / "dd"), "--out", str(out), "--no-audit",
                  "--skip", "setfit", "embeddings_lr", "--bootstrap", "20",
                  "--model", f"member={tiny_span_model}", "--model", f"ens={ensemble}")
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert {"fine-tuned:member", "fine-tuned:ens"} <= set(report["systems"])
    models = report["models"]
    # two members of the same size: twice the parameters; its own fingerprint
    assert models["ens"]["parameters"] == 2 * models["member"]["parameters"]
    assert models["ens"]["sha256"] != models["member"]["sha256"]
