"""Fine-tune a sequence classifier on the built DatasetDict with `Trainer`."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from data.build import load_built
from data.cli import publish
from data.labels import ID2LABEL, LABEL2ID, LABELS
from data.readers import DataError
from model.backbone import ModelError, check_model_dir, resolve_base_model
from model.classifier import encode, pick_device, pick_dtype
from train.config import load_recipe
from train.spans import has_span_data, train_spans


def class_weights(labels: list[int], scheme: str):
    import torch

    counts = torch.bincount(torch.tensor(labels), minlength=len(LABELS)).float().clamp(min=1)
    if scheme == "none":
        return None
    w = (counts.sum() / counts) ** (0.5 if scheme == "sqrt_inverse" else 1.0)
    return w / w.mean()


def make_loss(weights):
    import torch.nn.functional as F

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs.logits.float()
        w = weights.to(logits.device) if weights is not None else None
        if labels.dim() == 2:  # distillation: soft targets, gold rows one-hot; weight by the likeliest class
            row_w = w[labels.argmax(-1)] if w is not None else logits.new_ones(len(labels))
            per_row = -(labels * F.log_softmax(logits, dim=-1)).sum(-1)
            return (row_w * per_row).sum() / row_w.sum()
        total = F.cross_entropy(logits, labels, weight=w, reduction="sum")
        # Normalise by the (weighted) item count so gradient accumulation stays exact.
        denom = w[labels].sum() if w is not None else (num_items_in_batch or labels.numel())
        return total / denom

    return loss


def compute_metrics(eval_pred) -> dict:
    from eval.metrics import score

    logits, labels = eval_pred
    m = score(logits.argmax(-1), labels)
    return {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"]} | {f"f1_{k}": v["f1"] for k, v in m["per_label"].items()}


def train(args) -> None:
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              Trainer, TrainingArguments, set_seed)

    recipe = load_recipe(args.config)
    mc, ta = recipe.model, recipe.training
    if args.base_model:
        mc.base_model = args.base_model
    if args.no_context:
        mc.use_context = False
    if getattr(args, "class_weighting", None):
        mc.class_weighting = args.class_weighting
    dc = recipe.distillation
    for flag, key in (("pool_size", "max_pool"), ("distil_temperature", "temperature")):
        if getattr(args, flag, None) is not None:
            setattr(dc, key, getattr(args, flag))
    n_train = getattr(args, "max_train_samples", None)
    if n_train is not None and n_train < 1:
        raise DataError("--max-train-samples must be at least 1")
    teachers = [Path(t) for t in getattr(args, "teacher", None) or []]
    for t in teachers:
        check_model_dir(t)
    if teachers and dc.temperature <= 0:
        raise DataError("--distil-temperature must be positive")
    if args.epochs is not None:
        ta.pop("max_steps", None)  # a recipe's step budget (quickstart.yaml) would silently override --epochs
    for flag, key in (("epochs", "num_train_epochs"), ("max_steps", "max_steps"), ("seed", "seed"),
                      ("batch_size", "per_device_train_batch_size"), ("learning_rate", "learning_rate")):
        if getattr(args, flag) is not None:
            ta[key] = getattr(args, flag)

    out = Path(args.output_dir)
    ckpt_dir = out / "checkpoints"
    if (out / "config.json").exists() and not args.overwrite and not args.resume:
        raise DataError(f"{out}: already holds a model; choose another --output-dir or pass --overwrite")
    if isinstance(args.resume, str):  # --resume_from_checkpoint PATH, as in the HF scripts
        resume_from = Path(args.resume)
        if not (resume_from / "trainer_state.json").is_file():
            raise DataError(f"{resume_from}: not a complete Trainer checkpoint (no trainer_state.json)")
    else:
        resume_from = last_complete_checkpoint(ckpt_dir) if args.resume else None
    if args.resume and resume_from is None:
        raise DataError(f"{out}: --resume given but no complete checkpoint found in {ckpt_dir}")
    device = pick_device(args.device)
    dtype = getattr(args, "dtype", "auto")
    if dtype == "auto" and device == "cuda":
        ta.setdefault("bf16", torch.cuda.is_bf16_supported())
        ta.setdefault("fp16", not torch.cuda.is_bf16_supported())
    elif dtype != "auto":
        pick_dtype(dtype, device)  # refuses fp16 on CPU with a one-line error
        ta["bf16"], ta["fp16"] = dtype == "bf16", dtype == "fp16"
    # Our loss is a per-batch weighted mean, so DDP's gradient averaging is already right:
    # stop the Trainer from rescaling it by the process count.
    ta.setdefault("average_tokens_across_devices", False)
    # Under `accelerate launch` / torchrun this joins the process group; alone it is one process.
    training_args = TrainingArguments(output_dir=str(ckpt_dir), use_cpu=device == "cpu", **ta)
    main = training_args.process_index == 0
    dd = load_built(Path(args.data))
    if n_train is not None and n_train < len(dd["train"]):
        dd["train"] = dd["train"].shuffle(seed=int(ta.get("seed", 42))).select(range(n_train))
    base = resolve_base_model(mc.base_model)
    set_seed(int(ta.get("seed", 42)))
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=len(LABELS), id2label=ID2LABEL, label2id=LABEL2ID, use_safetensors=True,
            **({"num_hidden_layers": mc.layers} if mc.layers else {}))
    except (OSError, ValueError) as e:
        raise ModelError(f"{base}: cannot load base model ({str(e).splitlines()[0]})") from None
    tokenizer.model_max_length = mc.max_length
    # Only now, with data and backbone loaded, does the output folder appear: a bad --data leaves nothing.
    with training_args.main_process_first(local=False, desc="preparing the output folder"):
        if main:
            prepare_output(out, args.overwrite and not args.resume)

    def tokenize(batch):
        return dict(encode(tokenizer, batch["text"], batch["context"] if mc.use_context else None, mc.max_length))

    keep = ("input_ids", "attention_mask", "token_type_ids", "label")
    # The main process tokenises (and has the teacher label the pool) first; the others reuse its caches.
    with training_args.main_process_first(local=False, desc="tokenising"):
        tokenized = dd.map(tokenize, batched=True, desc="tokenising")
        tokenized = tokenized.remove_columns([c for c in dd["train"].column_names if c not in keep])
        train_set = tokenized["train"]
        if teachers:
            train_set = distilled_train_set(Path(args.data), train_set, tokenize, keep, dc, teachers, out,
                                            device, int(ta.get("seed", 42)), "bf16" if ta.get("bf16") else "fp32")

    weights = class_weights(dd["train"]["label"], mc.class_weighting)
    trainer = Trainer(
        model=model, args=training_args, train_dataset=train_set, eval_dataset=tokenized["validation"],
        processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics, compute_loss_func=make_loss(weights),
    )
    started = time.time()
    try:
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    except KeyboardInterrupt:
        if main:
            print(f"\ninterrupted; resume with: stance-train --data {args.data} --output-dir {out} --resume",
                  file=sys.stderr)
        raise SystemExit(130) from None
    train_seconds = time.time() - started

    # Every process takes part in these (predictions are gathered across processes) ...
    temperature = calibrate(trainer, tokenized["validation"])
    teacher = [str(t) for t in teachers] or None  # as metrics.json and stance_config.json record it
    metrics = {"train_seconds": round(train_seconds, 1), "device": device, "processes": training_args.world_size,
               "precision": "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "fp32",
               "gold_train_sentences": len(tokenized["train"]), "temperature": temperature, "teacher": teacher}
    for split in ("validation", "test"):
        if split in tokenized and len(tokenized[split]):
            metrics[split] = trainer.evaluate(tokenized[split], metric_key_prefix=split)
    trainer.save_model(str(out))  # writes on the main process only
    # The span model starts from the folder just written: no process may read it half-written.
    trainer.accelerator.wait_for_everyone()
    if recipe.spans.enabled and not getattr(args, "no_spans", False) and has_span_data(dd):
        # The classifier's encoder has already learnt which words carry attribution and stance.
        span_base = str(out) if recipe.spans.base_model == "classifier" else resolve_base_model(recipe.spans.base_model)
        # --max-steps caps both models; a recipe's step budget (quickstart.yaml) is the classifier's alone
        metrics["spans"] = train_spans(dd, span_base, out, recipe.spans, device,
                                       bool(training_args.bf16), int(ta.get("seed", 42)), main,
                                       max_steps=args.max_steps or -1)
    if not main:
        return
    # ... and only the main process writes the rest, so the folder is the same as a one-process run's.
    tokenizer.save_pretrained(str(out))
    (out / "stance_config.json").write_text(json.dumps({"use_context": mc.use_context, "max_length": mc.max_length,
                                                       "base_model": mc.base_model, "labels": list(LABELS),
                                                       "teacher": teacher,
                                                       "pool_sentences": len(train_set) - len(tokenized["train"]),
                                                       "temperature_folded_into_head": temperature}, indent=2))
    if "test" in dd and len(dd["test"]):
        metrics["test_by_source"] = test_by_source(out, dd["test"], mc.use_context, device)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "training_args.json").write_text(training_args.to_json_string())
    (out / "README.md").write_text(model_card(mc, metrics, dd))
    if not args.keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    (out / "training_args.bin").unlink(missing_ok=True)  # pickle; the JSON copy above is the record
    publish(out)
    print(f"model saved to {out} (validation macro-F1 {metrics['validation']['validation_macro_f1']:.3f}, "
          f"{train_seconds:.0f}s on {device}{f' x {training_args.world_size} processes' if training_args.world_size > 1 else ''})")
    from eval.report import text_kind

    for src, m in metrics.get("test_by_source", {}).items():
        print(f"  test macro-F1 {m['macro_f1']:.3f} on {m['n']} {src} sentences ({text_kind(src)})")
    test = metrics.get("spans", {}).get("test")
    if test:
        print(f"  span model (who said it) in {out / 'spans'}: on {test['sentences']} real test sentences (gated by the gold label), F1 exact/overlap "
              + ", ".join(f"{k} {test[k]['exact']['f1']:.3f}/{test[k]['overlap']['f1']:.3f}" for k in ("source", "cue", "figure")))


def test_by_source(model_dir: Path, test, use_context: bool, device: str) -> dict:
    """Test macro-F1 per source (real news and team-written text apart), scored like the harness.

    Through the saved model in input order: the Trainer's own predictions come back
    length-grouped, in an order that no longer lines up with the source column."""
    from eval.report import by_source
    from model.classifier import Classifier

    clf = Classifier.load(model_dir, device)
    probs = clf.predict_proba(test["text"], test["context"] if use_context else [""] * len(test))
    return by_source(probs.argmax(-1).tolist(), test["label"], test["source"])


def prepare_output(out: Path, overwrite: bool) -> None:
    soft_cache = out / "teacher_soft_labels.npz"  # keyed by teacher and pool, so never stale: worth keeping
    cached = soft_cache.read_bytes() if overwrite and soft_cache.is_file() else None
    if overwrite and (out / "config.json").exists():
        shutil.rmtree(out)  # leave nothing of the old model behind (an ONNX export, a model card)
    out.mkdir(parents=True, exist_ok=True)
    if cached is not None and not soft_cache.exists():
        soft_cache.write_bytes(cached)
    probe = out / ".write-test"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise DataError(f"{out}: output folder is not writable ({e.strerror})") from None


def distilled_train_set(data: Path, gold, tokenize, keep, dc, teachers: list[Path], out: Path, device: str,
                        seed: int, dtype: str):
    from data.build import load_pool
    from train.distil import teacher_probs, with_soft_targets

    pool = load_pool(data)
    if dc.max_pool is not None and dc.max_pool < len(pool):
        pool = pool.shuffle(seed=seed).select(range(max(dc.max_pool, 0)))
    probs = teacher_probs(teachers, pool, out, dc.temperature, device, dtype)
    pool = pool.map(tokenize, batched=True, desc="tokenising pool")
    pool = pool.remove_columns([c for c in pool.column_names if c not in keep])
    print(f"distillation: {len(gold)} gold + {len(pool)} teacher-labelled sentences (T={dc.temperature})")
    return with_soft_targets(gold, pool, probs)


def last_complete_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest checkpoint that was fully written; half-written newer ones are removed.

    A run killed while saving leaves a checkpoint folder without its
    trainer_state.json (the Trainer writes it last), which would break resuming.
    """
    found = sorted(ckpt_dir.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[-1]), reverse=True)
    for path in found:
        try:
            json.loads((path / "trainer_state.json").read_text())
            return path
        except (OSError, ValueError):
            print(f"note: {path} was not fully written; removing it", file=sys.stderr)
            shutil.rmtree(path, ignore_errors=True)
    return None


def calibrate(trainer, val_set) -> float:
    """Fit a temperature on validation logits and fold it into the classification head."""
    from eval.stats import fit_temperature
    from model.classifier import fold_temperature

    # The eval sampler groups by length too, so rows come back reordered: use the
    # labels returned with them, never the dataset's own order.
    out = trainer.predict(val_set)
    return fold_temperature(trainer.model, fit_temperature(out.predictions, out.label_ids))


def span_card(spans: dict | None) -> str:
    """The model card's section on the span model in spans/, when there is one."""
    test = (spans or {}).get("test")
    if not test:
        return ""
    rows = "\n".join(f"| {k} | {test[k]['gold']} | {test[k]['exact']['f1']:.3f} | {test[k]['overlap']['f1']:.3f} |"
                     for k in ("source", "cue", "figure"))
    return f"""## Who said it: the span model in `spans/`

A token-classification model marks, in each sourced sentence, the `source` (who the claim is attributed to),
the `cue` ("said", "denied", "according to") and, for official figures, the `figure`:

```python
tagger = pipeline("token-classification", model="path/to/this/folder/spans", aggregation_strategy="simple")
```

`stance-predict` runs it on every sentence not labelled unattributed and resolves "he" or "the spokesman" to
the name given earlier in the article (`source_resolved`). On {test['sentences']} real test sentences with marked
spans, tagged where the gold label is a sourced one, as `stance-predict` tags where its label is
(`stance-eval` reports the same with this classifier's labels, and 95% CIs):

| span | gold spans | exact F1 | token-overlap F1 |
|---|---|---|---|
{rows}
"""


def model_card(mc, metrics: dict, dd) -> str:
    """A Hugging Face model card: front matter (with model-index) and what a user needs to know."""
    import yaml

    from data.labels import DESCRIPTIONS
    from eval.report import text_kind

    tested = sorted(set(dd["test"]["source"])) if "test" in dd else []
    sources = sorted(set(dd["train"]["source"]) | set(tested))
    real = [s for s in sources if s != "authored"]
    # the hub ids of the packaged backbones, as Hugging Face tools expect in base_model
    hub_id = {"minilm": "sentence-transformers/all-MiniLM-L6-v2",
              "mpnet": "sentence-transformers/all-mpnet-base-v2"}.get(mc.base_model, mc.base_model)
    test = metrics.get("test") or {}
    by_src = metrics.get("test_by_source") or {}
    results = [{"task": {"type": "text-classification", "name": "Source-stance classification"},
                "dataset": {"type": "source-stance", "name": f"source-stance gold, test split ({'+'.join(tested)})",
                            "split": "test"},
                "metrics": [{"type": "f1", "name": "macro-F1", "value": round(test["test_macro_f1"], 4)},
                            {"type": "accuracy", "name": "accuracy", "value": round(test["test_accuracy"], 4)}]
                + [{"type": "f1", "name": f"F1 {lab}", "value": round(test[f"test_f1_{lab}"], 4)} for lab in LABELS]}
               ] if test else []
    for src, m in by_src.items():
        results.append({"task": {"type": "text-classification"},
                        "dataset": {"type": "source-stance", "name": f"test split, {src} sentences only", "split": "test"},
                        "metrics": [{"type": "f1", "name": "macro-F1", "value": round(m["macro_f1"], 4)}]})
    front = {"language": ["en"], "license": "other", "library_name": "transformers",
             "pipeline_tag": "text-classification", "base_model": hub_id,
             "tags": ["news", "attribution", "source-stance", "fact-checking"],
             "datasets": sources, "metrics": ["f1", "accuracy"],
             "model-index": [{"name": "source-stance", "results": results}]}
    rows = []
    for split in ("validation", "test"):
        m = metrics.get(split)
        if m:
            rows.append(f"| {split} | {len(dd[split])} | {m[f'{split}_macro_f1']:.3f} | {m[f'{split}_accuracy']:.3f} | "
                        + " | ".join(f"{m[f'{split}_f1_{lab}']:.3f}" for lab in LABELS) + " |")
    header = "| split | sentences | macro-F1 | accuracy | " + " | ".join(f"F1 {lab}" for lab in LABELS) + " |"
    sep = "|" + "---|" * (4 + len(LABELS))
    per_source = "\n".join(f"| {src} | {m['n']} | {m['macro_f1']:.3f} | {text_kind(src)} |" for src, m in by_src.items())
    demo = "" if real else ("\n**Demo model:** trained on the team-written corpus only. It does not transfer to real "
                            "news (about 0.40 macro-F1 there, below cue-word rules). Train on real gold instead.\n")
    call = 'clf({"text": sentence, "text_pair": previous_sentence}, truncation=True)' if mc.use_context \
        else "clf(sentence, truncation=True)"
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---
# Source-stance classifier
{demo}
Labels each sentence of a news article by how its claim is sourced.

| label | meaning |
|---|---|
{chr(10).join(f"| `{lab}` | {DESCRIPTIONS[lab]} |" for lab in LABELS)}

{"Input: the sentence, with the preceding sentence as `text_pair`." if mc.use_context else "Input: one sentence."}
Scores are calibrated: a temperature fitted on validation is folded into the classification head.

## Use

```python
from transformers import pipeline
clf = pipeline("text-classification", model="path/to/this/folder")
{call}
```

The model reads one sentence at a time, at most {mc.max_length} tokens. Always pass `truncation=True`:
without it, text longer than 512 tokens stops the pipeline with a tensor-size error.
To label a whole article, split it into sentences first: `stance-predict --model DIR --input article.txt
--output labels.jsonl` (or `model.classifier.label_article`) does that with the segmenter the gold
data was made with.

## Intended use and limits

For researchers, fact-checkers and data journalists who want to see which claims in news coverage rest
on whom. Trained on English news: {", ".join(real) or "team-written news-style text only"}
(FNC-1: 2014-15 web coverage of rumours; Reuters: 1987 economic newswire). Expect lower scores on
other decades, beats and genres. Known confusions: any number tends to become `official_figure` (a
company's profit, the writer's background figure); `asserted` vs `unattributed` when a source's account
continues without attribution; `unverified` vs `asserted` for named outlets citing unnamed people.
Labels are about attribution, not truth: `disputed` means the text contests a claim, not that it is false.

## Evaluation

{header}
{sep}
{chr(10).join(rows)}

Test split by source:

| source | sentences | macro-F1 | text |
|---|---|---|---|
{per_source}

{span_card(metrics.get("spans"))}
## Training

Fine-tuned from `{hub_id}` with the Hugging Face `Trainer` on {metrics.get("gold_train_sentences", "?")} gold
sentences (sources: {", ".join(sources)}), {mc.max_length} tokens, {'unweighted loss' if mc.class_weighting == 'none' else f'class-weighted loss ({mc.class_weighting})'}, best epoch
by validation macro-F1, {metrics.get("precision", "fp32")} on {metrics["device"]} in {metrics["train_seconds"]}s.
{f"Distilled from {' + '.join(f'`{t}`' for t in metrics['teacher'])}: gold labels plus soft labels on unlabelled pool sentences." if metrics.get("teacher") else ""}
"""
