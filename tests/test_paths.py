"""--backend auto: the path chosen for a forced CPU feature set, the fallback, and the cached int8 export."""

from __future__ import annotations

import json
import shutil

import pytest

from model import paths
from model.paths import choose
from tests.conftest import ROOT


@pytest.mark.parametrize("device,flags,ort,expected", [
    ("cuda", {"avx2"}, True, ("torch", "fp16", None)),
    ("cpu", {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16"}, True, ("onnx", "fp32", "int8")),
    ("cpu", {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}, False, ("torch", "bf16", None)),
    ("cpu", {"avx2", "avx512f", "avx512_vnni"}, True, ("onnx", "fp32", "int8")),
    ("cpu", {"avx2", "avx_vnni"}, True, ("onnx", "fp32", "int8")),
    ("cpu", {"avx2", "avx512_vnni"}, False, ("torch", "fp32", None)),
    ("cpu", {"avx2"}, True, ("torch", "fp32", None)),
    ("cpu", set(), False, ("torch", "fp32", None)),
])
def test_forced_feature_sets_pick_the_expected_path(device, flags, ort, expected):
    p = choose(device, flags, ort)
    assert (p.backend, p.dtype, p.quantize) == expected
    assert p.why


@pytest.mark.parametrize("flags,types,expected", [
    ({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}, {"mpnet"}, ("torch", "bf16", None)),
    ({"avx2", "avx512f", "avx512_vnni"}, {"mpnet"}, ("torch", "fp32", None)),
    ({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}, {"bert", "mpnet"}, ("torch", "bf16", None)),  # an ensemble
    ({"avx2", "avx512f", "avx512_vnni"}, {"bert"}, ("onnx", "fp32", "int8")),
])
def test_int8_only_for_model_types_it_was_measured_on(flags, types, expected):
    p = choose("cpu", flags, True, types)
    assert (p.backend, p.dtype, p.quantize) == expected
    if "mpnet" in types:
        assert "int8 moves mpnet labels by more than a point" in p.why


def test_model_types_reads_a_model_or_each_member_of_an_ensemble(tiny_model, tmp_path):
    from model.ensemble import ENSEMBLE_FILE

    assert paths.model_types(tiny_model) == {"bert"}
    ens = tmp_path / "ens"
    shutil.copytree(tiny_model, ens / "members" / "0")
    shutil.copytree(tiny_model, ens / "members" / "1")
    config = json.loads((ens / "members" / "1" / "config.json").read_text())
    (ens / "members" / "1" / "config.json").write_text(json.dumps({**config, "model_type": "mpnet"}))
    (ens / ENSEMBLE_FILE).write_text(json.dumps({"members": ["members/0", "members/1"]}))
    assert paths.model_types(ens) == {"bert", "mpnet"}


def run_predict(model, out, capsys, *extra):
    from model import predict

    predict.main(["--model", str(model), "--input", str(ROOT / "data" / "examples"), "--output", str(out),
                  "--quiet", "--overwrite", *extra])  # a failure would exit 2
    return capsys.readouterr().err


def test_auto_on_a_vnni_cpu_exports_int8_once_and_reuses_it(tiny_model, tmp_path, capsys, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    monkeypatch.setattr(paths, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_vnni"})
    err = run_predict(model, tmp_path / "a.jsonl", capsys)
    assert "inference path: ONNX int8 (the CPU has VNNI)" in err and "exporting the int8 ONNX graph once" in err
    graph = model / "onnx" / "model.int8.onnx"
    stamp = graph.stat().st_mtime_ns
    err = run_predict(model, tmp_path / "b.jsonl", capsys)
    assert "exporting" not in err and graph.stat().st_mtime_ns == stamp  # cached
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    # new weights make the cached graph stale: auto re-exports rather than using it
    from safetensors.torch import load_file, save_file

    weights = load_file(model / "model.safetensors")
    save_file({k: v * 1.01 for k, v in weights.items()}, model / "model.safetensors", metadata={"format": "pt"})
    assert "exporting the int8 ONNX graph once" in run_predict(model, tmp_path / "c.jsonl", capsys)


def test_auto_exports_the_span_models_int8_graph_too_and_refreshes_only_what_changed(tiny_span_model, tmp_path,
                                                                                     capsys, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(tiny_span_model, model)
    monkeypatch.setattr(paths, "cpu_flags", lambda: {"avx2", "avx512_vnni"})
    err = run_predict(model, tmp_path / "a.jsonl", capsys)
    assert f"int8 ONNX graphs once into {model / 'onnx'} and {model / 'spans' / 'onnx'}" in err
    graphs = [model / "onnx" / "model.int8.onnx", model / "spans" / "onnx" / "model.int8.onnx"]
    stamps = [g.stat().st_mtime_ns for g in graphs]
    assert "exporting" not in run_predict(model, tmp_path / "b.jsonl", capsys)
    assert [g.stat().st_mtime_ns for g in graphs] == stamps
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    from safetensors.torch import load_file, save_file

    weights = load_file(model / "spans" / "model.safetensors")  # only the span model was retrained
    save_file({k: v * 1.01 for k, v in weights.items()}, model / "spans" / "model.safetensors", metadata={"format": "pt"})
    err = run_predict(model, tmp_path / "c.jsonl", capsys)
    assert f"int8 ONNX graph once into {model / 'spans' / 'onnx'} (cached" in err
    assert graphs[0].stat().st_mtime_ns == stamps[0] and graphs[1].stat().st_mtime_ns != stamps[1]
    rec = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    assert {"source", "cue", "figure", "source_resolved"} <= set(rec)


def test_auto_without_onnxruntime_falls_back_to_torch_in_one_line(tiny_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(paths, "cpu_flags", lambda: {"avx2", "avx512_vnni"})
    monkeypatch.setattr(paths, "has_onnxruntime", lambda: False)
    err = run_predict(tiny_model, tmp_path / "a.jsonl", capsys)
    lines = [l for l in err.splitlines() if l.startswith("inference path:")]
    assert len(lines) == 1 and "torch fp32" in lines[0] and "ONNX Runtime is not installed" in lines[0]
    assert not (tiny_model / "onnx").exists()
    rec = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert rec["label"]


def test_an_explicit_dtype_is_kept(tiny_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(paths, "cpu_flags", lambda: {"avx2", "avx512_vnni"})
    err = run_predict(tiny_model, tmp_path / "a.jsonl", capsys, "--dtype", "fp32")
    assert "inference path: torch fp32 (as asked)" in err


def test_int8_path_with_the_plain_tokenizer_labels_as_with_autotokenizer(tiny_model, tmp_path, capsys, monkeypatch):
    """The ONNX path loads tokenizer.json without AutoTokenizer and no torch weights (2 s of every run's
    start); the records must be those that AutoTokenizer's tokenizer gives."""
    from model.classifier import Classifier

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    monkeypatch.setattr(paths, "cpu_flags", lambda: {"avx2", "avx512_vnni"})
    assert "ONNX int8" in run_predict(model, tmp_path / "plain.jsonl", capsys)
    real = Classifier.load_tokenizer
    monkeypatch.setattr(Classifier, "load_tokenizer", staticmethod(lambda path, plain=False: real(path, False)))
    assert "ONNX int8" in run_predict(model, tmp_path / "auto.jsonl", capsys)
    plain = (tmp_path / "plain.jsonl").read_text()
    assert plain and plain == (tmp_path / "auto.jsonl").read_text()
