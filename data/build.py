"""Build the labelled `DatasetDict` from corpora + stand-off annotations.

articles (bundled authored corpus, plus seeds/FNC-1 found under --corpus-dir)
  -> annotated sentences with context -> article-grouped splits -> save_to_disk

Beside the DatasetDict, `pool/` holds the unlabelled real sentences a teacher may
label for distillation: never from a validation or test article, never a
sentence whose text also occurs in validation or test.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from data.annotations import SPAN_FIELDS, SPAN_TYPES, Labelled, join, join_spans, load_records
from data.cli import publish
from data.labels import LABELS
from data.readers import Article, DataError, read_articles
from data.segment import segment, sentence_hash

PACKAGE = Path(__file__).parent
BUNDLED_CORPUS = PACKAGE / "corpus" / "authored.jsonl"
ANNOTATIONS = PACKAGE / "annotations"
AUTHORED = "authored"
# Fractions of *real* articles; the authored corpus always trains when real text exists.
SPLIT_FRACTIONS = {"train": 0.65, "validation": 0.15, "test": 0.20}


def external_corpora(corpus_dir: Path | None) -> dict[str, Path]:
    """The external corpora present under `corpus_dir` (layout of shared/corpora)."""
    if corpus_dir is None:
        return {}
    if not corpus_dir.is_dir():
        raise DataError(f"{corpus_dir}: corpus folder not found")
    found = {"seeds": corpus_dir / "seeds", "fnc1": corpus_dir / "fnc1" / "train_bodies.csv",
             "reuters": corpus_dir / "reuters" / "train_bodies.csv"}
    # Any other folder is a corpus of its own (a newsroom's articles labelled through Label Studio):
    # its name is the folder's, its articles whatever stance-predict would read there.
    found |= {d.name: d for d in sorted(corpus_dir.iterdir())
              if d.is_dir() and not d.name.startswith(".") and d.name not in found and d.name != AUTHORED}
    return {name: p for name, p in found.items() if p.exists()}


def load_corpora(corpus_dir: Path | None) -> dict[str, dict[str, Article]]:
    corpora = {AUTHORED: read_articles(BUNDLED_CORPUS, source=AUTHORED)}
    for name, path in external_corpora(corpus_dir).items():
        corpora[name] = read_articles(path, source=name)
    return {name: {a.id: a for a in arts} for name, arts in corpora.items()}


def annotated_sentences(corpora: dict[str, dict[str, Article]], annotation_dir: Path = ANNOTATIONS) -> list[Labelled]:
    """Join every gold annotation file whose corpus is loaded, and the span files beside them."""
    rows: list[Labelled] = []
    for path in sorted(annotation_dir.glob("*.jsonl")):
        for corpus, recs in by_corpus(load_records(path)).items():
            if corpus in corpora:
                rows += join(recs, corpora[corpus])
    spans = {}
    for path in sorted((annotation_dir / "spans").glob("*.jsonl")):
        for corpus, recs in by_corpus(load_records(path, fields=SPAN_FIELDS)).items():
            if corpus in corpora:
                spans |= {(corpus, s["article_id"], s["start"]): s for s in join_spans(recs, corpora[corpus])}
    for r in rows:
        # Unattributed sentences carry no spans by definition, so they are fully known too.
        found = spans.get((r.corpus, r.article_id, r.start))
        if found is not None:
            r.spans = {k: found[k] for k in SPAN_TYPES}
        elif r.label == "unattributed":
            r.spans = dict.fromkeys(SPAN_TYPES)
    return rows


def by_corpus(records: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for rec in records:
        out[rec["corpus"]].append(rec)
    return out


def group_key(row: Labelled, corpora: dict[str, dict[str, Article]]) -> str:
    """Articles that tell the same authored story travel together, so no story leaks."""
    story = corpora[row.corpus][row.article_id].meta.get("story") if row.corpus == AUTHORED else None
    return f"{row.corpus}:story:{story}" if story else f"{row.corpus}:{row.article_id}"


def assign_splits(groups: dict[str, Counter], seed: int, fractions=SPLIT_FRACTIONS) -> dict[str, str]:
    """Article-grouped split, stratified so rare labels reach every split.

    Groups are visited rarest-label-first (ties in seeded random order) and each
    goes to the split furthest below its target share of that label.
    """
    totals = sum(groups.values(), Counter())
    rarity = sorted(LABELS, key=lambda lab: totals[lab])
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    keys.sort(key=lambda g: tuple(-groups[g][lab] for lab in rarity))
    filled = {split: Counter() for split in fractions}
    out = {}
    for g in keys:
        lab = next((lab for lab in rarity if groups[g][lab]), rarity[-1])
        split = max(fractions, key=lambda s: fractions[s] * totals[lab] - filled[s][lab])
        out[g] = split
        filled[split].update(groups[g])
    return out


def load_pinned(annotation_dir: Path) -> dict[str, str]:
    """Split assignments fixed by earlier rounds (`splits.tsv`: group key, split), so scores stay comparable."""
    path = annotation_dir / "splits.tsv"
    if not path.is_file():
        return {}
    return dict(line.split("\t") for line in path.read_text().splitlines() if line.strip())


def split_rows(rows: list[Labelled], corpora, seed: int, pinned: dict[str, str] | None = None) -> dict[str, list[Labelled]]:
    """Pinned articles keep their split; the others are split among themselves (grouped, stratified)."""
    keys = [group_key(r, corpora) for r in rows]
    real = any(r.corpus != AUTHORED for r in rows)
    pinned = pinned if real else {}
    groups: dict[str, Counter] = defaultdict(Counter)
    for k, r in zip(keys, rows):
        if not (real and r.corpus == AUTHORED) and k not in (pinned or {}):
            groups[k][r.label] += 1
    assignment = assign_splits(groups, seed) | (pinned or {})
    splits: dict[str, list[Labelled]] = {"train": [], "validation": [], "test": []}
    for k, r in zip(keys, rows):
        splits[assignment.get(k, "train")].append(r)
    return splits


def drop_held_copies(splits: dict[str, list[Labelled]]) -> int:
    """Training rows whose exact text is also a validation or test sentence are dropped: FNC-1 bodies
    repeat wire copy across articles, and a copy in training would score the test on memory."""
    held = {sentence_hash(r.text) for split in ("validation", "test") for r in splits[split]}
    kept = [r for r in splits["train"] if sentence_hash(r.text) not in held]
    dropped = len(splits["train"]) - len(kept)
    splits["train"] = kept
    return dropped


def to_dataset_dict(splits: dict[str, list[Labelled]]):
    """One row per gold sentence. Span columns hold [start, end] inside the sentence, or [] for none;
    `spans_known` is false where nobody has marked the sentence's spans (then they say nothing)."""
    from datasets import Dataset, DatasetDict, Features, Sequence, Value

    from data.labels import class_label

    features = Features({
        "id": Value("string"), "article_id": Value("string"), "source": Value("string"),
        "start": Value("int32"), "end": Value("int32"), "text": Value("string"),
        "context": Value("string"), "label": class_label(), "annotator": Value("string"),
        "spans_known": Value("bool"), **{f"{k}_span": Sequence(Value("int32")) for k in SPAN_TYPES},
    })

    def span(r, kind):
        s = r.spans and r.spans[kind]
        return [s["start"], s["end"]] if s else []

    def rows(items):
        return {
            "id": [f"{r.corpus}:{r.article_id}:{r.start}" for r in items],
            "article_id": [r.article_id for r in items], "source": [r.corpus for r in items],
            "start": [r.start for r in items], "end": [r.end for r in items],
            "text": [r.text for r in items], "context": [r.context for r in items],
            "label": [LABELS.index(r.label) for r in items], "annotator": [r.annotator for r in items],
            "spans_known": [r.spans is not None for r in items],
            **{f"{k}_span": [span(r, k) for r in items] for k in SPAN_TYPES},
        }
    return DatasetDict({name: Dataset.from_dict(rows(items), features=features) for name, items in splits.items()})


def pool_rows(corpora: dict[str, dict[str, Article]], splits: dict[str, list[Labelled]]) -> dict[str, list]:
    """Unlabelled real sentences for distillation, kept clear of everything evaluated."""
    held = [r for split in ("validation", "test") for r in splits[split]]
    held_articles = {(r.corpus, r.article_id) for r in held}
    seen = {sentence_hash(r.text) for r in held}  # wire copy repeats across FNC-1 bodies
    gold = {(r.corpus, r.article_id, r.start) for rows in splits.values() for r in rows}
    seen |= {sentence_hash(r.text) for r in splits["train"]}
    pool: dict[str, list] = defaultdict(list)
    for corpus, articles in corpora.items():
        if corpus == AUTHORED:
            continue
        for art in articles.values():
            if (corpus, art.id) in held_articles:
                continue
            prev = ""
            for s in segment(art.text):
                h = sentence_hash(s.text)
                if (corpus, art.id, s.start) not in gold and h not in seen and len(s.text.split()) >= 3:
                    for key, value in (("id", f"{corpus}:{art.id}:{s.start}"), ("article_id", art.id), ("source", corpus),
                                       ("start", s.start), ("end", s.end), ("text", s.text), ("context", prev)):
                        pool[key].append(value)
                seen.add(h)
                prev = s.text
    return pool


def count_table(splits: dict[str, list[Labelled]]) -> dict:
    """counts[split][source][label], with 'all' totals on both axes."""
    table: dict = {}
    for split, items in splits.items():
        t: dict = defaultdict(Counter)
        for r in items:
            t[r.corpus][r.label] += 1
            t["all"][r.label] += 1
        table[split] = {src: {lab: c[lab] for lab in LABELS} | {"total": sum(c.values())} for src, c in t.items()}
    return table


def format_table(table: dict) -> str:
    head = "| split | source | " + " | ".join(LABELS) + " | total |"
    lines = [head, "|" + "---|" * (len(LABELS) + 3)]
    for split, by_src in table.items():
        for src, c in sorted(by_src.items(), key=lambda kv: kv[0] == "all"):
            lines.append(f"| {split} | {src} | " + " | ".join(str(c[lab]) for lab in LABELS) + f" | {c['total']} |")
    return "\n".join(lines)


def build(out: Path, corpus_dir: Path | None = None, seed: int = 42, annotation_dir: Path = ANNOTATIONS) -> dict:
    corpora = load_corpora(corpus_dir)
    rows = annotated_sentences(corpora, annotation_dir)
    if not rows:
        raise DataError("no annotated sentences joined with the available corpora")
    per_source = Counter(r.corpus for r in rows)
    for name in corpora:
        print(f"source {name}: {len(corpora[name])} articles, {per_source[name]} annotated sentences")
    splits = split_rows(rows, corpora, seed, load_pinned(annotation_dir))
    if dropped := drop_held_copies(splits):
        print(f"dropped {dropped} training sentences identical to a validation or test sentence")
    table = count_table(splits)
    dd = to_dataset_dict(splits)
    import datasets

    pool = datasets.Dataset.from_dict(pool_rows(corpora, splits)) if len(corpora) > 1 else None

    datasets.disable_progress_bars()  # the count table is the useful output here

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        dd.save_to_disk(str(tmp))
        if pool is not None and len(pool):
            pool.save_to_disk(str(tmp / "pool"))
        (tmp / "counts.json").write_text(json.dumps(table, indent=2))
        (tmp / "counts.md").write_text(format_table(table) + "\n")
        # the assignment of every real article: copy it to data/annotations/splits.tsv to pin it
        (tmp / "splits.tsv").write_text("".join(sorted({f"{group_key(r, corpora)}\t{name}\n" for name, items in splits.items()
                                                        for r in items if r.corpus != AUTHORED})))
        publish(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(format_table(table))
    if pool is not None:
        print(f"unlabelled pool for distillation: {len(pool)} sentences")
    print(f"saved DatasetDict to {out}")
    return table


def load_built(path: Path, need=("train", "validation")):
    """Load a DatasetDict written by `build`, checking it matches the label schema."""
    from datasets import load_from_disk

    path = Path(path)
    if not (path / "dataset_dict.json").is_file():
        raise DataError(f"{path}: not a saved DatasetDict (build one with `stance-build --output-dir {path}`)")
    dd = load_from_disk(str(path))
    for split in need:
        if split not in dd or len(dd[split]) == 0:
            raise DataError(f"{path}: split {split!r} is missing or empty")
    for split in dd:
        names = getattr(dd[split].features.get("label"), "names", None)
        if names != list(LABELS):
            raise DataError(f"{path}: dataset label set {names} differs from the schema {list(LABELS)}")
    return dd


def load_pool(path: Path):
    """The unlabelled pool saved beside a built DatasetDict."""
    from datasets import load_from_disk

    pool = Path(path) / "pool"
    if not (pool / "dataset_info.json").is_file():
        raise DataError(f"{path}: no unlabelled pool (it needs real corpora: stance-build finds ../shared/corpora or takes --corpus-dir)")
    return load_from_disk(str(pool))
