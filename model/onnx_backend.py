"""ONNX export (fp32 and dynamically quantised int8) and an ONNX Runtime classifier.

The exported graph takes the same inputs as the torch model and returns the
logits (temperature already folded into the head), so both backends share the
tokenising, batching and output code of `model.classifier`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from model.backbone import ModelError
from model.classifier import Classifier, encode
from model.ensemble import Ensemble, member_dirs, weights_hash
from model.spans import SPAN_DIR, SpanTagger

ONNX_DIR = "onnx"


def onnx_path(model_dir: Path, quantize: str | None) -> Path:
    return Path(model_dir) / ONNX_DIR / ("model.int8.onnx" if quantize == "int8" else "model.onnx")


def export(model_dir: str | Path, quantize: str | None = None) -> Path:
    """Write <model_dir>/onnx/model.onnx (and model.int8.onnx with quantize='int8')."""
    model_dir = Path(model_dir)
    clf = Classifier.load(model_dir, "cpu")
    enc = encode(clf.tokenizer, ["An example sentence for tracing."], ["Its context."], return_tensors="pt")
    return _export(clf.model, enc, model_dir, quantize)


def export_spans(model_dir: str | Path, quantize: str | None = None) -> Path:
    """The span model in <model_dir>/spans, likewise into <model_dir>/spans/onnx."""
    tagger = SpanTagger.load(Path(model_dir) / SPAN_DIR, "cpu")
    enc = tagger.tokenizer(["An example sentence, the minister said."], return_tensors="pt")
    return _export(tagger.model, enc, Path(model_dir) / SPAN_DIR, quantize, per_token=True)


def export_jobs(model_dir: str | Path, quantize: str | None, spans: bool = True) -> list:
    """Every graph a model folder runs on, as (the folder that gets onnx/, how to export it): the classifier
    (each member's, for an ensemble) and the span model where there is one."""
    model_dir = Path(model_dir)
    jobs = [(m, lambda m=m: export(m, quantize)) for m in member_dirs(model_dir) or [model_dir]]
    if spans and (model_dir / SPAN_DIR / "config.json").is_file():
        jobs.append((model_dir / SPAN_DIR, lambda: export_spans(model_dir, quantize)))
    return jobs


def _export(model, enc, folder: Path, quantize: str | None, per_token: bool = False) -> Path:
    import torch

    fp32 = onnx_path(folder, None)
    fp32.parent.mkdir(exist_ok=True)
    # The exporter orders graph inputs by forward()'s signature, not by the dict: name them so.
    import inspect

    names = [n for n in inspect.signature(model.forward).parameters if n in enc]
    tmp = fp32.with_suffix(".tmp.onnx")
    out_axes = {0: "batch", 1: "seq"} if per_token else {0: "batch"}
    with torch.inference_mode():
        torch.onnx.export(model, (dict(enc),), str(tmp), input_names=names, output_names=["logits"],
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in names} | {"logits": out_axes},
                          opset_version=17, dynamo=False)
    os.replace(tmp, fp32)
    # The graph is a copy of these weights; record which, so a retrained model can't use a stale graph.
    (fp32.parent / "inputs.json").write_text(json.dumps({"inputs": names, "model_sha256": weights_hash(folder)}))
    if quantize != "int8":
        return fp32
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = onnx_path(folder, "int8")
    tmp = out.with_suffix(".tmp.onnx")
    # Per-channel int8 for the encoder's matrix products; embeddings and the pooler/classifier
    # head stay fp32. Activations are quantised per batch, so a label can depend on which
    # sentences share its batch: on the test split macro-F1 moved between 0.729 and 0.740
    # with the batch size (fp32: 0.740). Keeping the FFN output projections in fp32 as well
    # raised agreement with fp32 labels from 97.4% to 98.3% but cost a third of the speed.
    keep = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node
            if n.op_type in ("MatMul", "Gemm") and ("pooler" in n.name or "classifier" in n.name)]
    # The quantiser rewrites Gemm nodes as MatMul under a derived name: exclude both names.
    quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_exclude=keep + [n + "_MatMul" for n in keep])
    os.replace(tmp, out)
    return out


def export_is_current(model_dir: str | Path, quantize: str | None) -> bool:
    """Whether the cached graph exists and was exported from the weights now in the folder."""
    path = onnx_path(Path(model_dir), quantize)
    try:
        meta = json.loads((path.parent / "inputs.json").read_text())
    except (OSError, ValueError):
        return False
    return path.is_file() and meta.get("model_sha256") == weights_hash(Path(model_dir))


def _session(folder: Path, model_dir, quantize: str | None, threads: int | None):
    """An ONNX Runtime session on the graph exported from `folder`'s weights, and the export's record."""
    import onnxruntime as ort

    path = onnx_path(folder, quantize)
    flag = " --quantize int8" if quantize else ""
    if not path.is_file():
        raise ModelError(f"{path}: not exported yet; run python scripts/export_onnx.py --model {model_dir}{flag}")
    meta = json.loads((path.parent / "inputs.json").read_text())
    if meta.get("model_sha256") != weights_hash(folder):
        raise ModelError(f"{path}: exported from other weights than {folder}/model.safetensors; "
                         f"re-run python scripts/export_onnx.py --model {model_dir}{flag}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]), meta


class OnnxClassifier(Classifier):
    """Same interface as `Classifier`, running an exported graph in ONNX Runtime."""

    @classmethod
    def load(cls, model_dir: str | Path, device: str = "cpu", quantize: str | None = None,
             threads: int | None = None) -> "OnnxClassifier":
        members = member_dirs(Path(model_dir))
        if members:
            return Ensemble([cls.load(m, device, quantize, threads) for m in members])
        tokenizer, use_context = Classifier.load_tokenizer(Path(model_dir), plain=True)  # no torch weights
        session, meta = _session(Path(model_dir), model_dir, quantize, threads)
        obj = cls(session, tokenizer, "cpu", use_context)
        obj.input_names = tokenizer.model_input_names = meta["inputs"]  # what the graph takes, token types too
        if quantize == "int8":
            # Activation scales are per batch, shared by every sentence in it. Among batch
            # sizes 8-64 (same speed from 16 up), 16 scored best on validation (0.722 vs 0.715 at 64).
            obj.batch_size = 16
        return obj

    tensor_type = "np"

    def _prepare(self, enc):
        import numpy as np

        return {k: enc[k].astype(np.int64) for k in self.input_names}

    def _logits(self, enc):
        return self.model.run(["logits"], enc)[0]


class OnnxSpanTagger(SpanTagger):
    """Same interface as `SpanTagger`, running the span model's exported graph in ONNX Runtime."""

    @classmethod
    def load(cls, model_dir: str | Path, quantize: str | None = None, threads: int | None = None) -> "OnnxSpanTagger":
        from transformers import AutoTokenizer

        folder = Path(model_dir) / SPAN_DIR
        session, meta = _session(folder, model_dir, quantize, threads)
        obj = cls(session, AutoTokenizer.from_pretrained(folder), "cpu")
        obj.input_names = meta["inputs"]
        if quantize == "int8":
            # As for the classifier, activation scales are per batch. Real validation, gated by the gold label,
            # fast tier's span model (exact / overlap F1): batches of 16 source 0.907/0.932, cue 0.906/0.896,
            # figure 0.667/0.872, 543 sentences/s; of 64 figure 0.653/0.853 at 583/s; torch bf16 source
            # 0.909/0.932, cue 0.907/0.896, figure 0.680/0.869 at 352/s (2 cores, AVX512-VNNI).
            obj.batch_size = 16
        return obj

    tensor_type = "np"

    def _logits(self, batch):
        import numpy as np

        return self.model.run(["logits"], {k: batch[k].astype(np.int64) for k in self.input_names})[0]
