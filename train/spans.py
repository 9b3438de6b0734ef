"""Fine-tune the span model (who said it) with `Trainer`, into `<model dir>/spans`.

Trained on every gold sentence whose spans are known: the span-marked ones and
(as many as the recipe's `negatives` asks) the unattributed ones, which have none
by definition. Scored on the real validation and test sentences with known spans,
gated by the gold label.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from data.annotations import SPAN_TYPES
from data.labels import LABELS
from model.spans import MAX_LENGTH, SPAN_DIR, TAGS, SpanTagger, bio_tags


def has_span_data(dd) -> bool:
    return "spans_known" in dd["train"].column_names and any(dd["train"].filter(lambda r: r["spans_known"])["source_span"])


def train_spans(dd, base: str, out: Path, sc, device: str, bf16: bool, seed: int, main: bool = True,
                max_steps: int = -1) -> dict:
    """Train, save to out/spans, and return validation/test span scores (real sentences only).

    Under torchrun every process trains; only the main one writes and scores."""
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              Trainer, TrainingArguments, set_seed)

    known = dd.filter(lambda r: r["spans_known"], desc="sentences with known spans")
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.model_max_length = MAX_LENGTH

    def tokenize(batch):
        enc = tokenizer(batch["text"], truncation=True, max_length=MAX_LENGTH, return_offsets_mapping=True)
        enc["labels"] = [bio_tags(offsets, {k: batch[f"{k}_span"][i] for k in SPAN_TYPES})
                         for i, offsets in enumerate(enc.pop("offset_mapping"))]
        return enc

    train = known["train"]
    if sc.negatives is not None:
        from datasets import concatenate_datasets

        marked = train.filter(lambda r: r["label"] != LABELS.index("unattributed"))
        free = train.filter(lambda r: r["label"] == LABELS.index("unattributed")).shuffle(seed=seed)
        train = concatenate_datasets([marked, free.select(range(min(len(free), int(sc.negatives * len(marked)))))])
    train_set = train.map(tokenize, batched=True, remove_columns=train.column_names, desc="tokenising spans")
    set_seed(seed)
    depth = {"num_hidden_layers": sc.layers} if sc.layers else {}
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(TAGS), id2label=dict(enumerate(TAGS)), label2id={t: i for i, t in enumerate(TAGS)},
        use_safetensors=True, ignore_mismatched_sizes=True, **depth)  # a classifier's 5-label head is replaced
    ckpt = out / "span-checkpoints"
    args = TrainingArguments(output_dir=str(ckpt), use_cpu=device == "cpu", bf16=bf16, seed=seed,
                             num_train_epochs=sc.epochs, max_steps=max_steps, learning_rate=sc.learning_rate,
                             per_device_train_batch_size=sc.batch_size, weight_decay=0.01, warmup_steps=0.1,
                             train_sampling_strategy="group_by_length", save_strategy="no", logging_steps=50,
                             report_to="none")
    trainer = Trainer(model=model, args=args, train_dataset=train_set, processing_class=tokenizer,
                      data_collator=DataCollatorForTokenClassification(tokenizer))
    started = time.time()
    trainer.train()
    seconds = time.time() - started
    target = out / SPAN_DIR
    trainer.save_model(str(target))
    if not main:
        return {}
    tokenizer.save_pretrained(str(target))
    shutil.rmtree(ckpt, ignore_errors=True)
    (target / "training_args.bin").unlink(missing_ok=True)

    tagger = SpanTagger.load(target, device)
    metrics = {"train_seconds": round(seconds, 1), "train_sentences": len(train_set), "steps": trainer.state.global_step,
               "precision": "bf16" if bf16 else "fp32"}
    for split in ("validation", "test"):
        if split in known:
            real = known[split].filter(lambda r: r["source"] != "authored")
            if len(real):
                metrics[split] = gated_scores(tagger, real)
    (target / "span_metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def gated_scores(tagger, rows) -> dict:
    """Span scores with the spans gated as predict.py gates them, but by the gold label: what the span model
    does once the label is right. The harness (stance-eval) gates by the classifier's own labels."""
    from eval.spans import gated_predictions, gold_spans, score_spans

    texts = rows["text"]
    pred = gated_predictions(tagger, texts, [LABELS[y] for y in rows["label"]])
    return score_spans(texts, gold_spans(rows), pred, n_boot=0) | {"sentences": len(rows)}
