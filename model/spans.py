"""Who said it: source, cue and figure spans inside a sentence, and who a "he" is.

A token-classification model (BIO tags) marks at most one span of each kind per
sentence, as the gold does (data/GUIDELINES.md, "Spans"). It lives in the
`spans/` folder of a model directory, so one folder is one product, and loads
with `pipeline("token-classification", model=DIR / "spans", aggregation_strategy="simple")`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.annotations import SPAN_TYPES
from model.backbone import ModelError

TAGS = ("O", *(f"{bi}-{kind.upper()}" for kind in SPAN_TYPES for bi in "BI"))
SPAN_DIR = "spans"
MAX_LENGTH = 128
# A token joins a span when its B+I probability reaches this, and of several runs the one with the most
# probability in all wins (a long hedge beats a lone "said"). Chosen on the real validation split, spans gated by
# the classifier's label, 5-epoch span model: cue token-overlap F1 0.846 (0.3 and the highest mean: 0.828),
# source 0.907 (0.899), figure 0.679 (0.655); 0.45-0.7 all within a point of 0.5.
THRESHOLD = 0.5


def bio_tags(offsets, spans: dict) -> list[int]:
    """Tag ids for one tokenised sentence; special tokens get -100 (ignored by the loss).

    `offsets` are the tokenizer's character offsets; `spans` maps a kind to
    [start, end] inside the sentence, or to nothing.
    """
    tags = []
    for s, e in offsets:
        if s == e:
            tags.append(-100)
            continue
        tag = "O"
        for kind in SPAN_TYPES:
            span = spans.get(kind)
            if span and span[0] < e and s < span[1]:
                tag = f"{'B' if s <= span[0] else 'I'}-{kind.upper()}"
        tags.append(TAGS.index(tag))
    return tags


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to whole words: the model may tag only the first wordpiece of a name."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def decode(text: str, offsets, probs, threshold: float = THRESHOLD) -> dict:
    """The likeliest span of each kind: a run of adjacent tokens whose B+I probability for that
    kind reaches `threshold`, the run with the highest summed probability winning."""
    best: dict = dict.fromkeys(SPAN_TYPES)
    real = np.asarray([s != e for s, e in offsets])
    for k, kind in enumerate(SPAN_TYPES):
        p = probs[:, 1 + 2 * k] + probs[:, 2 + 2 * k]
        runs, cur = [], None
        for t, on in enumerate(real & (p >= threshold)):
            if on and cur is not None and cur[-1] == t - 1:
                cur.append(t)
            elif on:
                cur = [t]
                runs.append(cur)
        if runs:
            run = max(runs, key=lambda r: p[r].sum())
            start, end = _word_bounds(text, int(offsets[run[0]][0]), int(offsets[run[-1]][1]))
            best[kind] = {"text": text[start:end], "start": start, "end": end}
    return best


@dataclass
class SpanTagger:
    model: object
    tokenizer: object
    device: str

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", dtype: str = "fp32") -> "SpanTagger":
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from model.classifier import pick_device, pick_dtype

        path = Path(path)
        device = pick_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForTokenClassification.from_pretrained(path, use_safetensors=True)
        except (OSError, ValueError) as e:
            raise ModelError(f"{path}: cannot load the span model ({str(e).splitlines()[0]})") from None
        model.to(device=device, dtype=pick_dtype(dtype, device)).eval()
        return cls(model, tokenizer, device)

    tensor_type = "pt"
    batch_size = 64

    def _logits(self, batch) -> np.ndarray:
        return self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits.float().cpu().numpy()

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict]:
        """For each sentence: kind -> {"text", "start", "end"} (offsets inside the sentence) or None."""
        import torch
        from scipy.special import softmax

        from model.classifier import prefetched, token_batches

        if not texts:  # a chunk whose sentences are all unattributed or already tagged: the tokenizer fails on []
            return []
        enc = self.tokenizer(list(texts), truncation=True, max_length=MAX_LENGTH, return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")

        def pad(idx):
            return idx, self.tokenizer.pad({k: [v[i] for i in idx] for k, v in enc.items()}, return_tensors=self.tensor_type)

        out: list = [None] * len(texts)
        with torch.inference_mode():
            for idx, batch in prefetched(token_batches([len(x) for x in enc["input_ids"]], batch_size), pad):
                probs = softmax(self._logits(batch), axis=-1)
                for row, i in enumerate(idx):
                    n = len(offsets[i])
                    out[i] = decode(texts[i], np.asarray(offsets[i]), probs[row, :n])
        return out


def load_tagger(model_dir: str | Path, device: str = "auto", dtype: str = "fp32") -> SpanTagger | None:
    """The span model inside a model directory, or None when the folder has none."""
    path = Path(model_dir) / SPAN_DIR
    return SpanTagger.load(path, device, dtype) if (path / "config.json").is_file() else None


# --- speaker resolution -------------------------------------------------------------------------

PRONOUNS = {"he", "she", "they", "it", "we", "i", "him", "her", "them", "us"}
POSSESSIVE_OR_DEFINITE = {"the", "his", "her", "its", "their", "this", "that"}
WORD = re.compile(r"[\w'’.-]+")


def source_kind(source: str, sentence_initial: bool) -> str:
    """pronoun ("he"), role (a bare "the spokesman"), named ("Minister Subroto") or unnamed ("analysts")."""
    words = WORD.findall(source)
    if not words:
        return "unnamed"
    if source.strip().lower() in PRONOUNS:
        return "pronoun"
    first = words[0]
    rest_capital = any(w[0].isupper() for w in words[1:])
    if first.lower() in POSSESSIVE_OR_DEFINITE and not rest_capital and len(words) <= 4:
        return "role"
    if rest_capital or (first[0].isupper() and not sentence_initial) or (len(first) > 1 and first.isupper()):
        return "named"
    # A capitalised first word of the sentence is a name unless it looks like a plural common noun
    # ("Witnesses said", "Analysts said").
    if len(words) == 1 and first[0].isupper() and not first.endswith("s"):
        return "named"
    return "unnamed"


class Speakers:
    """Speaker resolution over a stream of records in article order (state is per article)."""

    def __init__(self):
        self.article, self.named = None, []

    def __call__(self, rec: dict) -> None:
        """Fill `source_resolved` and `source_resolution` of one record.

        A pronoun gets the nearest earlier named source of the same article ("earlier
        mention"), a bare role the nearest one that contains its head word ("the governor" ->
        "regional governor Oskar Trevan"), else no name ("not found"). A surname alone takes the fuller
        name it was introduced with ("Subroto" -> "Indonesian Energy Minister Subroto").
        Everything else is its own canonical name ("as written").
        """
        if rec["article_id"] != self.article:
            self.article, self.named = rec["article_id"], []
        src = rec.get("source")
        if not src:
            rec["source_resolved"], rec["source_resolution"] = None, None
            return
        kind = source_kind(src["text"], src["start"] == rec["start"])
        resolved, how = src["text"], "as written"
        if kind in ("pronoun", "role"):
            # A role names what it refers to: "the ministry" is an earlier ministry, never the engineer
            # quoted last; a pronoun can only be the latest name.
            head = WORD.findall(src["text"])[-1].lower().removesuffix("'s") if kind == "role" else None
            fits = [n for n in self.named if head is None or head in (w.lower() for w in WORD.findall(n))]
            resolved, how = (fits[-1], "earlier mention") if fits else (None, "not found")
            if fits:  # mentioned again: the likeliest referent of the next "he"
                self.named.remove(resolved)
                self.named.append(resolved)
        elif kind == "named":
            words = WORD.findall(src["text"])
            fuller = [n for n in self.named if len(words) == 1 and n.split()[-1] == words[0] and n != src["text"]]
            if fuller:
                resolved, how = fuller[-1], "earlier mention"
            if resolved in self.named:  # the latest mention is what a later "he" most likely means
                self.named.remove(resolved)
            self.named.append(resolved)
        rec["source_resolved"], rec["source_resolution"] = resolved, how


def resolve_sources(records: list[dict]) -> list[dict]:
    speakers = Speakers()
    for rec in records:
        speakers(rec)
    return records


def for_label(spans: dict | None, label: str) -> dict:
    """The spans a sentence with this label shows: none when unattributed, a figure only for official_figure
    (the span model does not see the label, and any number can look like a statistic)."""
    if not spans or label == "unattributed":
        return dict.fromkeys(SPAN_TYPES)
    return spans if label == "official_figure" else dict(spans, figure=None)


class SpanAnnotator:
    """Adds spans (offsets into the article) and resolved speakers to labelled records.

    Only sentences with a sourced label are tagged (unattributed ones carry no
    spans by definition), each distinct sentence once, as the classifier does.
    """

    def __init__(self, tagger: SpanTagger, batch_size: int | None = None, max_items: int = 200_000):
        from collections import OrderedDict

        self.tagger, self.batch_size, self.max_items = tagger, batch_size or tagger.batch_size, max_items
        self.cache: "OrderedDict[str, dict]" = OrderedDict()
        self.speakers = Speakers()

    def __call__(self, recs: list[dict]) -> None:
        todo = list(dict.fromkeys(r["text"] for r in recs if r["label"] != "unattributed" and r["text"] not in self.cache))
        self.cache.update(zip(todo, self.tagger.predict(todo, self.batch_size)))
        for rec in recs:
            found = for_label(self.cache.get(rec["text"]), rec["label"])
            for kind in SPAN_TYPES:
                s = found[kind]
                rec[kind] = {"text": s["text"], "start": rec["start"] + s["start"], "end": rec["start"] + s["end"]} \
                    if s else None
            self.speakers(rec)
        while len(self.cache) > self.max_items:
            self.cache.popitem(last=False)
