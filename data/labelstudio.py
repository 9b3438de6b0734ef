"""The annotation round trip through Label Studio: sentences out as tasks, labels back as stand-off records.

export: articles -> the segmenter's sentences (the gold's units) -> optional active-learning
        selection (data.select) -> one task per sentence, with the model's label (and spans,
        when the model folder has a span model) as pre-annotations -> tasks.json, plus
        labelstudio_config.xml beside it.
import: Label Studio's JSON export -> the latest submitted annotation of each task ->
        label records (data.annotations) and span records (annotations/spans/) that
        `python -m data build` joins like the rest of the gold.

Tasks carry the sentence text so annotators can read it, but only offsets and the sha1
come back: the import refuses a task whose text no longer matches its hash.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path

from data.annotations import SPAN_TYPES, make_record, write_records
from data.cli import write_atomic
from data.labels import DESCRIPTIONS, LABELS
from data.readers import DataError
from data.segment import segment, sentence_hash

# Names that tie the config's controls to the task results, in both directions.
LABEL_FROM, SPANS_FROM, TEXT = "label", "spans", "text"
CONFIG_NAME = "labelstudio_config.xml"
TASK_FIELDS = ("corpus", "article_id", "start", "end", "sha1", TEXT)


def label_config() -> str:
    """Label Studio XML: the sentence between its neighbours, one of the five labels, and span marks."""
    choices = "\n".join(f'    <Choice value="{lab}" hint="{escape(DESCRIPTIONS[lab])}"/>' for lab in LABELS)
    spans = "\n".join(f'    <Label value="{kind}"/>' for kind in SPAN_TYPES)
    return f"""<View>
  <Header value="$corpus / $article_id, characters $start-$end"/>
  <View style="color: #777">
    <Text name="before" value="$before"/>
  </View>
  <Labels name="{SPANS_FROM}" toName="{TEXT}">
{spans}
  </Labels>
  <Text name="{TEXT}" value="${TEXT}"/>
  <View style="color: #777">
    <Text name="after" value="$after"/>
  </View>
  <Choices name="{LABEL_FROM}" toName="{TEXT}" choice="single" showInline="true" required="true">
{choices}
  </Choices>
</View>
"""


# --- export -------------------------------------------------------------------------------------

def sentence_units(inputs: list[Path], corpus: str | None, id_column: str, text_column: str) -> list[dict]:
    """Every sentence of every article, with its neighbours, offsets and hash."""
    from data.readers import iter_articles

    units, seen = [], set()
    for path in inputs:
        name = corpus or Path(path).stem
        for art in iter_articles([path], id_column=id_column, text_column=text_column):
            if (name, art.id) in seen:
                raise DataError(f"{path}: article {art.id!r} of corpus {name!r} appears twice among the inputs")
            seen.add((name, art.id))
            sents = segment(art.text)
            for k, s in enumerate(sents):
                units.append({"corpus": name, "article_id": art.id, "index": s.index, "start": s.start, "end": s.end,
                              "sha1": sentence_hash(s.text), TEXT: s.text,
                              "before": sents[k - 1].text if k else "",
                              "after": sents[k + 1].text if k + 1 < len(sents) else ""})
    return units


def labelled_keys(annotation_dir: Path | None) -> set[tuple]:
    """(corpus, article_id, start, end, sha1) of every gold sentence: those need no new label."""
    from data.annotations import load_records

    if annotation_dir is None or not annotation_dir.is_dir():
        return set()
    return {(r["corpus"], r["article_id"], r["start"], r["end"], r["sha1"])
            for path in sorted(annotation_dir.glob("*.jsonl")) for r in load_records(path)}


def key(unit: dict) -> tuple:
    return unit["corpus"], unit["article_id"], unit["start"], unit["end"], unit["sha1"]


def model_version(model_dir: Path) -> str:
    from model.backbone import ModelError
    from model.ensemble import weights_hash

    try:
        return f"{model_dir.resolve().name}@{weights_hash(model_dir)[:12]}"
    except (OSError, ModelError):
        return model_dir.resolve().name


def span_predictor(model_dir: Path):
    """predict(texts, labels) -> per sentence {kind: {"text", "start", "end"} or None}, or None
    where the model folder has no span model."""
    from model.spans import for_label, load_tagger

    tagger = load_tagger(model_dir)
    if tagger is None:
        return None
    # the product shows no spans on unattributed sentences and figures only on official_figure ones
    return lambda texts, labels: [for_label(found, lab) for found, lab in zip(tagger.predict(texts), labels)]


def scores(clf, units: list[dict]):
    # the previous sentence is the context, as in the built dataset
    return clf.predict_proba([u[TEXT] for u in units], [u["before"] for u in units])


def to_task(unit: dict, probs, spans: dict | None, version: str, priority: float | None) -> dict:
    result = [{"from_name": LABEL_FROM, "to_name": TEXT, "type": "choices",
               "value": {"choices": [LABELS[int(probs.argmax())]]}}]
    for kind in SPAN_TYPES:
        span = (spans or {}).get(kind)
        if span:
            result.append({"from_name": SPANS_FROM, "to_name": TEXT, "type": "labels",
                           "value": {"start": to_js(unit[TEXT], span["start"]), "end": to_js(unit[TEXT], span["end"]),
                                     "text": span["text"], "labels": [kind]}})
    data = {k: unit[k] for k in ("corpus", "article_id", "index", "start", "end", "sha1", TEXT, "before", "after")}
    if priority is not None:
        data["priority"] = round(float(priority), 6)  # sortable in Label Studio's data manager
    return {"data": data, "predictions": [{"model_version": version, "score": round(float(probs.max()), 6),
                                           "result": result}]}


def export(args) -> None:
    from data.readers import check_csv_columns, input_files
    from data.select import priority, select
    from model.backbone import check_model_dir
    from model.classifier import Classifier

    files = input_files(args.input)  # every check a user can fail comes before the model loads
    for f in files:
        if f.suffix.lower() == ".csv":
            check_csv_columns(f, args.id_column, args.text_column)
    for d in (args.model, args.second_model):
        if d is not None:
            check_model_dir(d)
    if args.out.suffix.lower() != ".json" or args.out.is_dir():
        raise DataError(f"{args.out}: the tasks file must be a .json file")
    units = sentence_units(args.input, args.corpus, args.id_column, args.text_column)
    done = labelled_keys(args.annotations)
    fresh = [u for u in units if key(u) not in done]
    if not fresh:
        raise DataError(f"{', '.join(map(str, args.input))}: every sentence already has a gold label in {args.annotations}")
    probs = scores(Classifier.load(args.model, args.device), fresh)
    prio = None
    if args.select:
        second = scores(Classifier.load(args.second_model, args.device), fresh) if args.select == "disagree" else None
        prio = priority(args.select, probs, second, seed=args.seed)
        items = [{"article": (u["corpus"], u["article_id"]), "text": u[TEXT]} for u in fresh]
        done_texts = [u[TEXT] for u in units if key(u) in done]  # a gold sentence's wire copies need no label
        keep = select(items, prio, args.budget, args.per_article, exclude_texts=done_texts)
    else:
        keep = list(range(len(fresh)))
    predict_spans = span_predictor(args.model)
    chosen = [fresh[i] for i in keep]
    spans = predict_spans([u[TEXT] for u in chosen], [LABELS[int(probs[i].argmax())] for i in keep]) \
        if predict_spans and chosen else [None] * len(chosen)
    version = model_version(args.model)
    tasks = [to_task(fresh[i], probs[i], s, version, None if prio is None else prio[i]) for i, s in zip(keep, spans)]
    write_atomic(args.out, json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
    config = args.out.parent / CONFIG_NAME
    write_atomic(config, label_config())
    articles = len({(u["corpus"], u["article_id"]) for u in units})
    how = f"selected by {args.select} from {len(fresh)}" if args.select else f"of {len(fresh)}"
    print(f"{len(tasks)} tasks ({how} unlabelled sentences in {articles} articles; {len(units) - len(fresh)} already "
          f"labelled; span pre-annotations: {'yes' if predict_spans else 'no'}) -> {args.out}; config -> {config}")


# --- import -------------------------------------------------------------------------------------

def _when(ann: dict) -> tuple:
    # ISO timestamps sort as strings; the id breaks ties (and orders exports without times)
    return (str(ann.get("updated_at") or ann.get("created_at") or ""), str(ann.get("created_at") or ""),
            ann.get("id") if isinstance(ann.get("id"), int) else -1)


def latest_annotation(task: dict) -> dict | None:
    """The most recent submitted annotation with a result; None when all were skipped or empty."""
    anns = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
    live = [a for a in anns if not a.get("was_cancelled") and a.get("result")]
    return max(live, key=_when) if live else None


def annotator(ann: dict) -> str:
    # the user's id, not the e-mail: annotation files are committed
    user = ann.get("completed_by")
    return f"labelstudio:user{user.get('id', '?') if isinstance(user, dict) else user}"


def read_export(path: Path) -> list[dict]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not JSON ({e}); export the project from Label Studio as JSON") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file; export the project from Label Studio as JSON") from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in tasks):
        raise DataError(f"{path}: not a Label Studio JSON export (expected a list of tasks with \"data\"); "
                        "export as JSON, not JSON-MIN or CSV")
    return tasks


def sentence_of(task: dict, where: str) -> dict:
    """The task's sentence, checked against the hash and offsets written at export."""
    data = task["data"]
    missing = [k for k in TASK_FIELDS if k not in data]
    if missing:
        raise DataError(f"{where}: task data lacks {', '.join(missing)}; was it made by `python -m data export-labelstudio`?")
    text, start, end = data[TEXT], data["start"], data["end"]
    if not (isinstance(text, str) and isinstance(start, int) and isinstance(end, int)):
        raise DataError(f"{where}: task text, start and end must be a string and two integers")
    if sentence_hash(text) != data["sha1"]:
        raise DataError(f"{where}: the sentence text changed since export (sha1 mismatch); labels must point at the "
                        "exported text, so re-export the article instead of editing the task")
    if not 0 <= start < end or end - start != len(text):
        raise DataError(f"{where}: offsets {start}:{end} do not match the sentence ({len(text)} characters)")
    return data


def to_js(text: str, i: int) -> int:
    """Label Studio's browser counts UTF-16 code units: characters beyond the BMP (emoji) count twice."""
    return i + sum(ord(ch) > 0xFFFF for ch in text[:i])


def from_js(text: str, units) -> int | None:
    """The Python index of a UTF-16 offset, or None where it is not one (or splits a character)."""
    if not isinstance(units, int) or units < 0:
        return None
    n = 0
    for i, ch in enumerate(text):
        if n >= units:
            return i if n == units else None
        n += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if n == units else None


def read_result(result: list, text: str, where: str) -> tuple[str, dict]:
    """The label and the spans ({kind: [start, end] inside the sentence or None}) of one annotation."""
    label, spans = None, dict.fromkeys(SPAN_TYPES)
    for item in result:
        if not isinstance(item, dict):
            continue
        value = item.get("value") or {}
        if item.get("type") == "choices" and item.get("from_name") == LABEL_FROM:
            picked = value.get("choices") or []
            if len(picked) != 1 or picked[0] not in LABELS:
                raise DataError(f"{where}: unknown label {picked!r}; expected one of {', '.join(LABELS)}")
            label = picked[0]
        elif item.get("type") == "labels" and item.get("from_name") == SPANS_FROM:
            kinds, s, e = value.get("labels") or [], from_js(text, value.get("start")), from_js(text, value.get("end"))
            if len(kinds) != 1 or kinds[0] not in SPAN_TYPES:
                raise DataError(f"{where}: unknown span label {kinds!r}; expected one of {', '.join(SPAN_TYPES)}")
            if s is None or e is None or not s < e or ("text" in value and text[s:e] != value["text"]):
                raise DataError(f"{where}: {kinds[0]} span offsets {s}:{e} do not match its text {value.get('text')!r} "
                                "in the sentence")
            if spans[kinds[0]] is not None:
                raise DataError(f"{where}: more than one {kinds[0]} span; the guidelines allow one of each kind")
            spans[kinds[0]] = [s, e]
    return label, spans


def import_export(args) -> None:
    tasks = read_export(args.export)
    latest: dict[tuple, tuple] = {}  # one record per sentence: the latest annotation over all its tasks
    skipped = empty = other = 0
    corpora = Counter()
    for n, task in enumerate(tasks, 1):
        where = f"{args.export}: task {task.get('id', f'#{n}')}"
        data = sentence_of(task, where)
        corpora[data["corpus"]] += 1
        if data["corpus"] != args.corpus:
            other += 1
            continue
        ann = latest_annotation(task)
        if ann is None:
            cancelled = any(isinstance(a, dict) and a.get("was_cancelled") for a in task.get("annotations") or [])
            skipped, empty = skipped + cancelled, empty + (not cancelled)
            continue
        label, spans = read_result(ann["result"], data[TEXT], where)
        if label is None:
            empty += 1
            continue
        sent = (str(data["article_id"]), data["start"], data["end"])
        if sent not in latest or _when(ann) >= _when(latest[sent][0]):
            latest[sent] = (ann, data, label, spans)
    if not latest:
        raise DataError(f"{args.export}: no submitted annotation for corpus {args.corpus!r} "
                        f"(tasks by corpus: {dict(corpora) or 'none'})")
    labels, span_recs = [], []
    for key in sorted(latest, key=lambda k: (not k[0].isdigit(), k[0].zfill(12), k[1])):  # numeric ids in order
        ann, data, label, spans = latest[key]
        who = args.annotator or annotator(ann)
        labels.append(make_record(args.corpus, key[0], key[1], key[2], data[TEXT], label, who))
        if any(spans.values()):
            span_recs.append({**{k: labels[-1][k] for k in ("corpus", "article_id", "start", "end", "sha1")},
                              **spans, "annotator": who})
    spans_out = args.spans_out or args.out.parent / "spans" / args.out.name
    for out in (args.out, spans_out if span_recs else None):
        if out is not None and out.exists() and not args.overwrite:
            raise DataError(f"{out}: already exists; choose another --out or pass --overwrite to replace it")
    write_records(args.out, labels)
    if span_recs:
        write_atomic(spans_out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in span_recs))
    notes = [f"{n} {what}" for n, what in ((skipped, "skipped"), (empty, "without a label"),
                                          (other, "of other corpora")) if n]
    print(f"{len(labels)} labels {dict(Counter(r['label'] for r in labels))} -> {args.out}"
          + (f"; {len(span_recs)} sentences with spans -> {spans_out}" if span_recs else "")
          + (f"; not imported: {', '.join(notes)} task(s)" if notes else ""))


def add_commands(sub, formatter_class) -> None:
    """The export-labelstudio and import-labelstudio subcommands of `python -m data`."""
    from data.select import STRATEGIES

    e = sub.add_parser("export-labelstudio", help="sentences as Label Studio tasks, pre-annotated by a model",
                       description=EXPORT_DOC, formatter_class=formatter_class)
    e.add_argument("--input", required=True, nargs="+", type=Path,
                   help="article files or folders (.txt, .jsonl, .csv, .html), read as stance-predict reads them")
    e.add_argument("--model", required=True, type=Path, help="model directory (stance-train) for the pre-annotations")
    e.add_argument("--output", "--out", required=True, type=Path, dest="out",
                   help=f"tasks FILE.json to write; {CONFIG_NAME} is written beside it")
    e.add_argument("--corpus", default=None, help="corpus name the labels will join (seeds, fnc1, reuters, ...); "
                   "default: each input's file or folder name without extension")
    e.add_argument("--select", choices=STRATEGIES, default=None,
                   help="export only the --budget most useful sentences: uncertain (entropy), margin, "
                        "disagree (two models, needs --second-model) or random; default: every sentence")
    e.add_argument("--budget", type=int, default=None, help="with --select: how many sentences")
    e.add_argument("--per-article", type=int, default=3, help="with --select: at most this many per article (round-robin)")
    e.add_argument("--second-model", type=Path, default=None, help="with --select disagree: the other model directory")
    e.add_argument("--seed", type=int, default=42, help="with --select random: the seed")
    e.add_argument("--annotations", type=Path, default=Path(__file__).parent / "annotations",
                   help="gold label folder; sentences labelled there are not exported (default: data/annotations)")
    e.add_argument("--id-column", default="Body ID", help="CSV column with the article id")
    e.add_argument("--text-column", default="articleBody", help="CSV column with the article text")
    e.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    e.add_argument("--debug", action="store_true", help="show tracebacks")

    i = sub.add_parser("import-labelstudio", help="a Label Studio JSON export as stand-off gold labels",
                       description=IMPORT_DOC, formatter_class=formatter_class)
    i.add_argument("--export", required=True, type=Path, help="Label Studio JSON export of the project")
    i.add_argument("--corpus", required=True, help="corpus of the tasks to import (as named at export)")
    i.add_argument("--output", "--out", required=True, type=Path, dest="out",
                   help="label records to write, e.g. data/annotations/NAME.jsonl")
    i.add_argument("--spans-out", type=Path, default=None,
                   help="span records (written when any span was marked); default: spans/ beside --out, same name")
    i.add_argument("--annotator", default=None, help="annotator recorded for every label (default: labelstudio:userID)")
    i.add_argument("--overwrite", action="store_true", help="replace existing output files")
    i.add_argument("--debug", action="store_true", help="show tracebacks")


def check_export_args(ap, args) -> None:
    if args.select and (args.budget is None or args.budget < 1):
        ap.error("--select needs --budget N (at least 1)")
    if args.budget is not None and not args.select:
        ap.error("--budget needs --select")
    if (args.select == "disagree") != (args.second_model is not None):
        ap.error("--select disagree and --second-model go together")
    if args.per_article < 1:
        ap.error("--per-article must be at least 1")


EXPORT_DOC = """python -m data export-labelstudio --input ARTICLES... --model DIR --out tasks.json
    [--corpus NAME] [--select uncertain|margin|disagree|random --budget N [--second-model DIR]]

One Label Studio task per sentence (the segmenter's units, as in the gold), with the
previous and next sentence as context and the model's label as a pre-annotation.
Create a project with labelstudio_config.xml (written beside the tasks) and import tasks.json.
"""

IMPORT_DOC = """python -m data import-labelstudio --export export.json --corpus NAME --out data/annotations/NAME.jsonl

Label Studio's JSON export -> stand-off label records (and span records) that
`python -m data build` joins with the corpus. The latest submitted annotation of each
task counts; predictions never do.
"""

