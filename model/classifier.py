"""Load a fine-tuned model directory and label sentences with it.

One encoding rule serves training, evaluation, batch prediction and the
`pipeline(...)` call: the sentence is the first segment and, when context is
used and present, the preceding sentence is the second (`text_pair`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from data.labels import LABELS
from model.backbone import ModelError, check_model_dir

MAX_LENGTH = 128


def _no_gpu_here() -> bool:
    """True when CUDA surely is absent, known without importing torch (a second of every CPU run's start):
    a CPU-only torch build, or Linux without the NVIDIA driver's device node."""
    import os
    from importlib.metadata import PackageNotFoundError, version

    try:
        cpu_build = "+cpu" in version("torch")
    except PackageNotFoundError:
        cpu_build = False
    return cpu_build or (sys.platform == "linux" and not os.path.exists("/dev/nvidiactl"))


def pick_device(name: str = "auto") -> str:
    if name == "auto" and _no_gpu_here():
        return "cpu"
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda: no CUDA device is available on this machine (use --device cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise ModelError(f"--device {name}: expected auto, cpu or cuda")
    return name


DTYPES = ("auto", "fp32", "bf16", "fp16")


def pick_dtype(name: str, device: str):
    """auto: fp32 on CPU (labels identical to the reference path), fp16 on CUDA."""
    import torch

    if name not in DTYPES:
        raise ModelError(f"--dtype {name}: expected one of {', '.join(DTYPES)}")
    if name == "auto":
        name = "fp16" if device == "cuda" else "fp32"
    if name == "fp16" and device != "cuda":
        raise ModelError("--dtype fp16 needs --device cuda; on CPU use bf16 (fast on CPUs with AVX512-BF16 or AMX)")
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def encode(tokenizer, texts: list[str], contexts: list[str] | None, max_length: int = MAX_LENGTH, **kw):
    """Tokenise sentence (+ preceding sentence as text_pair); an empty context means no pair.

    Pairs and singles tokenise differently, so each group is encoded in one fast
    batch call and the rows are put back in input order.
    """
    texts = list(texts)
    paired = [i for i, c in enumerate(contexts or []) if c]
    has_pair = set(paired)
    single = [i for i in range(len(texts)) if i not in has_pair]
    rows: list = [None] * len(texts)
    if paired:
        enc = tokenizer([texts[i] for i in paired], [contexts[i] for i in paired], truncation=True, max_length=max_length)
        for j, i in enumerate(paired):
            rows[i] = {k: v[j] for k, v in enc.items()}
    if single:
        enc = tokenizer([texts[i] for i in single], truncation=True, max_length=max_length)
        for j, i in enumerate(single):
            rows[i] = {k: v[j] for k, v in enc.items()}
    out = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
    if kw.get("return_tensors"):
        out = tokenizer.pad(out, return_tensors=kw["return_tensors"])
    return out


def token_batches(lengths, batch_size: int):
    """Positions grouped into batches in token-length order, so each batch pads little.

    Characters are a poor proxy for tokens (numbers, names and URLs split into many
    pieces): on FNC-1 sentences, batches cut by character length padded to 1.5x the
    real tokens, by token length to 1.02x.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[b : b + batch_size] for b in range(0, len(order), batch_size)]


def prefetched(items, work):
    """Yield work(item) for each item, computing the next one in a thread while the caller runs.

    The model's kernels release the GIL, so padding, tensor building and (on CUDA)
    pinning the next batch cost the model nothing.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(work, items[0]) if items else None
        for k in range(len(items)):
            result = future.result()
            if k + 1 < len(items):
                future = pool.submit(work, items[k + 1])
            yield result


@dataclass
class Classifier:
    model: object
    tokenizer: object
    device: str
    use_context: bool = True
    truncated: int = 0  # inputs cut to MAX_LENGTH tokens so far, reported by batch jobs

    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto", dtype: str = "fp32") -> "Classifier":
        from transformers import AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging

        from model.ensemble import Ensemble, member_dirs

        hf_logging.disable_progress_bar()  # batch jobs print their own progress
        path = Path(model_dir)
        members = member_dirs(path)
        if members:
            return Ensemble([cls.load(m, device, dtype) for m in members])
        tokenizer, use_context = cls.load_tokenizer(path)
        device = pick_device(device)
        torch_dtype = pick_dtype(dtype, device)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
        except (OSError, ValueError) as e:
            raise ModelError(f"{path}: cannot load model ({str(e).splitlines()[0]})") from None
        model.to(device=device, dtype=torch_dtype).eval()
        return cls(model, tokenizer, device, use_context)

    @staticmethod
    def load_tokenizer(path: Path, plain: bool = False):
        """The checked folder's tokenizer and whether the model reads the previous sentence.

        `plain`: the folder's tokenizer.json as it is, without AutoTokenizer and the model classes its
        imports pull in (the ONNX path needs none of them; same ids, about 2 s less start-up)."""
        check_model_dir(path)
        try:
            if plain and (path / "tokenizer.json").is_file():
                from transformers import PreTrainedTokenizerFast as AutoTokenizer
            else:
                from transformers import AutoTokenizer
            tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ModelError(f"{path}: cannot load model ({str(e).splitlines()[0]})") from None
        settings = json.loads((path / "stance_config.json").read_text()) if (path / "stance_config.json").exists() else {}
        return tokenizer, settings.get("use_context", True)

    tensor_type = "pt"
    batch_size = 64  # the default; near the CPU's best fp32 throughput with token-length batches

    def _prepare(self, enc):
        """A tokenised batch, made ready off the hot path (in the prefetch thread)."""
        return {k: v.pin_memory() if self.device == "cuda" else v for k, v in enc.items()}

    def _logits(self, enc):
        enc = {k: v.to(self.device, non_blocking=True) for k, v in enc.items()}
        return self.model(**enc).logits.float().cpu().numpy()

    def predict_proba(self, texts: list[str], contexts: list[str] | None = None, batch_size: int | None = None,
                      progress: str | None = None):
        """Probabilities (n, 5), batched in length order to waste little padding."""
        from contextlib import nullcontext

        import numpy as np
        from scipy.special import softmax
        from tqdm.auto import tqdm

        ctx = contexts if (self.use_context and contexts is not None) else None

        # One call tokenises everything (in parallel, in Rust: ~2% of the time); the thread
        # then pads and builds the next batch's tensors while the model runs the current one.
        enc = encode(self.tokenizer, texts, ctx)
        lengths = [len(ids) for ids in enc.get("input_ids", [])]
        self.truncated += sum(n >= MAX_LENGTH for n in lengths)

        def pad(idx):
            batch = {k: [v[i] for i in idx] for k, v in enc.items()}
            return idx, self._prepare(self.tokenizer.pad(batch, return_tensors=self.tensor_type))

        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        batches = token_batches(lengths, batch_size or self.batch_size)
        if self.tensor_type == "pt":
            import torch

            no_grad = torch.inference_mode()
        else:  # ONNX Runtime: no autograd to switch off
            no_grad = nullcontext()
        with no_grad:
            for idx, batch in tqdm(prefetched(batches, pad), total=len(batches), desc=progress, unit="batch",
                                   disable=progress is None):
                probs[idx] = softmax(self._logits(batch), axis=-1)
        return probs


def fold_temperature(model, t: float) -> float:
    """Divide the classification head by T, so logits come out divided by T.

    Every consumer (predict.py, pipeline(...)) then gets calibrated scores with no
    extra code, and argmax (hence every label) is unchanged. Returns the T applied.
    """
    import sys

    import torch

    head = getattr(model, "classifier", None)
    # BERT's head is one Linear; RoBERTa/MPNet heads end in out_proj after a dense layer.
    head = getattr(head, "out_proj", head)
    if not isinstance(head, torch.nn.Linear):
        print("note: no linear classifier head found; scores are left uncalibrated", file=sys.stderr)
        return 1.0
    with torch.no_grad():
        head.weight /= t
        head.bias /= t
    return round(float(t), 4)


def label_article(text: str, model_dir: str | Path | None = None, classifier: Classifier | None = None) -> list[dict]:
    """Segment an article and label each sentence: the helper for code users.

    >>> label_article(open("article.txt").read(), "runs/model")[0]["label"]
    """
    from data.segment import segment

    clf = classifier or Classifier.load(model_dir)
    sents = segment(text)
    texts = [s.text for s in sents]
    probs = clf.predict_proba(texts, [""] + texts[:-1])
    return [
        {"index": s.index, "start": s.start, "end": s.end, "text": s.text, "label": LABELS[int(p.argmax())],
         "score": float(p.max()), "scores": {lab: float(x) for lab, x in zip(LABELS, p)}}
        for s, p in zip(sents, probs)
    ]
