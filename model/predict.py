"""Label every sentence of a batch of articles: the labelling engine.

    stance-predict --model runs/quickstart/model --input articles/ more.jsonl --output labels.jsonl
    (the same as `python scripts/predict.py ...` or `python -m model.predict ...`)

Flow: streaming reader -> segmenter -> de-duplication -> model -> resumable writer.
Inputs: .txt files or folders of them, .jsonl ({"id", "text", ...}), .csv
(--id-column/--text-column; FNC-1 bodies work as is), .html. Output: one record
per sentence (article_id, index, paragraph, start, end, text, label, score,
scores) as JSONL or CSV, written to a hidden file and renamed when complete.
With a span model in the model folder (`spans/`, written by stance-train),
records also say who said it: source, cue, figure ({"text", "start", "end"},
offsets into the article, or null) and source_resolved / source_resolution.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from data.cli import ArgumentParser, run
from data.labels import LABELS
from model.classifier import DTYPES

FIELDS = ("article_id", "index", "paragraph", "start", "end", "text", "label", "score")
SPAN_COLUMNS = tuple(f"{kind}{part}" for kind in ("source", "cue", "figure") for part in ("", "_start", "_end")) \
    + ("source_resolved", "source_resolution")


def sentence_stream(articles):
    from data.segment import iter_segment

    for art in articles:
        prev = ""
        for s in iter_segment(art.text):
            yield {"article_id": art.id, "index": s.index, "paragraph": s.paragraph, "start": s.start, "end": s.end,
                   "text": s.text}, prev
            prev = s.text


def chunks(items, size):
    buf = []
    for item in items:
        buf.append(item)
        if len(buf) == size:
            yield buf
            buf = []
    if buf:
        yield buf


class Writer:
    """JSONL or CSV by extension; nothing appears at the final path until close().

    Records go to a hidden `.part` file. After each chunk, a sidecar records how many
    records and bytes are safely on disk (fsync'd), and what the run is (`run`: the
    input files with sizes and mtimes, the model's weights hash, the options that
    change labels). `--resume` continues only the same run, truncated to its last
    complete chunk; anything else is refused, and a partial run is never dropped
    without --overwrite.
    """

    def __init__(self, path: Path, run: dict, resume: bool = False, overwrite: bool = False, spans: bool = False):
        from data.readers import DataError

        if path.suffix not in (".jsonl", ".csv"):
            raise DataError(f"{path}: output must end in .jsonl or .csv")
        if path.is_dir():
            raise DataError(f"{path}: is a folder; give an output file")
        self.path, self.run, self.spans = path, run, spans
        self.tmp = path.parent / f".{path.name}.part"
        self.progress = path.parent / f".{path.name}.progress"
        self.done = self.resume_bytes = 0
        state = self._partial_state()
        if state and resume:
            why = resume_mismatch(state.get("run"), run)
            if why:
                raise DataError(f"{path}: cannot resume: {why}; to start over, run without --resume and with --overwrite")
            self.done, self.resume_bytes = state["records"], state["bytes"]
        elif state and not overwrite:
            raise DataError(f"{path}: an interrupted run left {state['records']} labelled sentences here; "
                            "add --resume to continue it, or --overwrite to discard it and start over")
        elif state:
            print(f"note: discarding the interrupted run's {state['records']} sentences (--overwrite)", file=sys.stderr)
        elif resume:
            print(f"note: nothing to resume for {path}; starting from the beginning", file=sys.stderr)

    def _partial_state(self) -> dict | None:
        if not (self.tmp.exists() and self.progress.exists()):
            return None
        try:
            state = json.loads(self.progress.read_text())
            int(state["records"]), int(state["bytes"])
        except (ValueError, KeyError, TypeError):
            return {"records": "an unknown number of", "bytes": 0, "run": None}
        return state

    def open(self) -> None:
        """Called once the model has loaded, so a failed load leaves every file as it was."""
        from data.readers import DataError

        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.done:
            self.f = open(self.tmp, "r+", encoding="utf-8", newline="")
            self.f.truncate(self.resume_bytes)
            self.f.seek(self.resume_bytes)
        else:
            self.progress.unlink(missing_ok=True)
            try:
                self.f = open(self.tmp, "w", encoding="utf-8", newline="")
            except OSError as e:
                raise DataError(f"{self.path}: cannot write output ({e.strerror})") from None
        self.csv = csv.writer(self.f) if self.path.suffix == ".csv" else None
        if self.csv and not self.done:
            self.csv.writerow(list(FIELDS) + [f"score_{l}" for l in LABELS] + list(SPAN_COLUMNS if self.spans else ()))

    def write(self, rec: dict) -> None:
        if self.csv:
            spans = [rec[k] and rec[k][part] for k in ("source", "cue", "figure") for part in ("text", "start", "end")] \
                + [rec["source_resolved"], rec["source_resolution"]] if self.spans else []
            self.csv.writerow([rec[k] for k in FIELDS] + [rec["scores"][l] for l in LABELS] + spans)
        else:
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.done += 1

    def checkpoint(self) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())
        tmp = self.progress.with_suffix(".tmp")
        tmp.write_text(json.dumps({"records": self.done, "bytes": self.f.tell(), "run": self.run}))
        os.replace(tmp, self.progress)

    def written(self):
        """The records of the interrupted run that --resume keeps, parsed (JSONL or CSV rows)."""
        self.f.seek(0)
        rows = csv.DictReader(self.f) if self.csv else map(json.loads, iter(self.f.readline, ""))
        for _, row in zip(range(self.done), rows):
            if self.csv:
                row["start"] = int(row["start"])
                row["scores"] = {lab: float(row[f"score_{lab}"]) for lab in LABELS}
                row["source"] = {"text": row["source"], "start": int(row["source_start"])} if row.get("source") else None
            yield row
        self.f.seek(self.resume_bytes)

    def close(self) -> None:
        self.f.close()
        os.replace(self.tmp, self.path)
        self.progress.unlink(missing_ok=True)

    def keep_for_resume(self) -> None:
        self.checkpoint()
        self.f.close()

    def abort(self) -> None:
        self.f.close()
        self.tmp.unlink(missing_ok=True)
        self.progress.unlink(missing_ok=True)


def run_fingerprint(args, files: list[Path]) -> dict:
    """What makes two runs produce the same records: inputs, weights, label-changing options."""
    from model.backbone import sha256_file
    from model.ensemble import weights_hash
    from model.spans import SPAN_DIR

    span_weights = args.model / SPAN_DIR / "model.safetensors"
    options = {k: getattr(args, k) for k in ("backend", "quantize", "dtype", "device", "id_column", "text_column",
                                             "skip_bad", "no_spans")}
    if args.quantize:  # dynamic int8 scales depend on batch-mates
        options["batch_size"] = args.batch_size
    stats = [(f, f.stat()) for f in files]
    return {"inputs": [[str(f.resolve()), st.st_size, st.st_mtime_ns] for f, st in stats],
            "model": weights_hash(args.model),
            # a span model retrained between interrupt and resume would mix two models' spans in one file
            "spans": sha256_file(span_weights) if span_weights.exists() and not args.no_spans else None,
            "options": options}


def resume_mismatch(old: dict | None, new: dict) -> str | None:
    """One line saying how the interrupted run differs from this one, or None."""
    if not old:
        return "the interrupted run did not record its inputs (older version or damaged progress file)"
    if old.get("model") != new["model"]:
        return "the model's weights differ from the interrupted run's"
    if old.get("spans") != new.get("spans"):
        return "the span model's weights (spans/) differ from the interrupted run's"
    before = {p: (size, mtime) for p, size, mtime in old.get("inputs", [])}
    now = {p: (size, mtime) for p, size, mtime in new["inputs"]}
    for what, paths in (("input file(s) added", [p for p in now if p not in before]),
                        ("input file(s) missing", [p for p in before if p not in now]),
                        ("input file(s) changed since", [p for p in now if p in before and now[p] != before[p]])):
        if paths:
            return f"{what} the interrupted run: {', '.join(Path(p).name for p in paths[:3])}" + \
                   (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    if list(before) != list(now):
        return "the inputs are given in another order than in the interrupted run"
    changed = [k for k in new["options"] if old.get("options", {}).get(k) != new["options"][k]]
    if changed:
        return "option(s) differ from the interrupted run: " + ", ".join(
            f"--{k.replace('_', '-')} {old.get('options', {}).get(k)!r} -> {new['options'][k]!r}" for k in changed)
    return None


class DedupCache:
    """Scores each distinct (sentence, context) once; bounded, so memory stays flat.

    Wire copy repeats verbatim across outlets, so archives hold many duplicates.
    """

    def __init__(self, clf, batch_size: int | None = None, max_items: int = 200_000):
        from collections import OrderedDict

        self.clf, self.batch_size, self.max_items = clf, batch_size, max_items
        self.cache: "OrderedDict[tuple, object]" = OrderedDict()
        self.hits = 0

    def remember(self, record: dict, previous: dict | None) -> None:
        """Cache the scores of a record already written (a resumed run), in output order.

        Without this, a repeat of an earlier sentence would be scored again in another batch,
        and int8's per-batch scales would give it other digits than the uninterrupted run."""
        import numpy as np

        same = previous is not None and str(previous["article_id"]) == str(record["article_id"])
        key = self.key(record["text"], previous["text"] if same else "")
        self.cache[key] = np.asarray([record["scores"][lab] for lab in LABELS], dtype=np.float64)
        self.cache.move_to_end(key)
        if len(self.cache) > self.max_items:
            self.cache.popitem(last=False)

    def key(self, text: str, context: str) -> tuple[str, str]:
        return text, context if self.clf.use_context else ""

    def __call__(self, texts: list[str], contexts: list[str]):
        keys = [self.key(t, c) for t, c in zip(texts, contexts)]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        local = dict(zip(todo, self.clf.predict_proba([k[0] for k in todo], [k[1] for k in todo], self.batch_size)))
        self.hits += len(keys) - len(todo)
        rows = []
        for k in keys:
            p = local.get(k)
            if p is None:
                p = self.cache[k]
                self.cache.move_to_end(k)
            rows.append(p)
        self.cache.update(local)
        while len(self.cache) > self.max_items:
            self.cache.popitem(last=False)
        return rows


def resolve_backend(args) -> None:
    """Turn --backend auto into a concrete path for this machine, and say which and why in one line.

    An explicit --dtype or --quantize is a choice already made: it is kept."""
    from model.classifier import pick_device
    from model.paths import Path_, choose, cpu_flags, has_onnxruntime, model_types

    if args.backend != "auto":
        return
    device = pick_device(args.device)
    if args.quantize or args.dtype != "auto":
        path = Path_("onnx" if args.quantize else "torch", "fp32" if args.quantize else args.dtype, args.quantize,
                     "as asked")
    else:
        path = choose(device, cpu_flags(), has_onnxruntime(), model_types(args.model))
    if path.quantize and not onnx_ready(args.model, spans=not args.no_spans):
        path = Path_("torch", "fp32", None, f"the int8 graph could not be written into {args.model} (read-only?)")
    args.backend, args.dtype, args.quantize = path.backend, path.dtype, path.quantize
    print(f"inference path: {path}", file=sys.stderr)


def onnx_ready(model_dir: Path, spans: bool = True) -> bool:
    """The int8 graphs (the classifier's, and the span model's where there is one), exported once and cached in
    the model folder (re-exported when the weights changed)."""
    from model.backbone import ModelError
    from model.onnx_backend import export_is_current, export_jobs

    todo = [(folder, how) for folder, how in export_jobs(model_dir, "int8", spans) if not export_is_current(folder, "int8")]
    if not todo:
        return True
    print(f"note: exporting the int8 ONNX graph{'s' if len(todo) > 1 else ''} once into "
          f"{' and '.join(str(f / 'onnx') for f, _ in todo)} (cached for later runs)", file=sys.stderr)
    import logging
    import warnings

    root = logging.getLogger()
    level = root.level
    try:  # the tracer's and the quantiser's advice is for people writing exporters, not for this user
        root.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _, how in todo:
                how()
    except (OSError, ModelError):
        return False
    finally:
        root.setLevel(level)
    return True


def load_classifier(args):
    from data.readers import DataError

    if args.backend == "onnx":
        from model.onnx_backend import OnnxClassifier

        if args.dtype not in ("auto", "fp32"):
            raise DataError("--dtype is for --backend torch; the ONNX graphs are fp32 or, with --quantize, int8")
        return OnnxClassifier.load(args.model, quantize=args.quantize, threads=args.threads)
    if args.quantize:
        raise DataError("--quantize int8 needs --backend onnx")
    from model.classifier import Classifier

    return Classifier.load(args.model, args.device, args.dtype)


def load_span_model(args):
    """The span model on the classifier's path: its own ONNX graph (int8 beside int8) or torch in the same dtype."""
    from model.spans import load_tagger

    if args.backend == "onnx":
        from model.onnx_backend import OnnxSpanTagger

        return OnnxSpanTagger.load(args.model, quantize=args.quantize, threads=args.threads)
    return load_tagger(args.model, args.device, args.dtype)


class Clock:
    """Wall time per stage of one run, for `--timings` (where the time of a whole process goes)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0

    def report(self, started: float) -> str:
        """One line; `start` is interpreter start-up plus imports, from the process's own start time."""
        try:
            import psutil

            start = started - psutil.Process().create_time()
        except ImportError:
            start = float("nan")
        stages = {"start + imports": start, **self.seconds}
        return "timings: " + json.dumps({k: round(v, 2) for k, v in stages.items()})


def local_chunks(score: DedupCache, articles, skip: int, chunk_size: int, clock: Clock):
    """The local engine: segment, deduplicate and label in this process, chunk by chunk."""
    from itertools import islice

    # output order is deterministic, so the first `skip` sentences are the ones already written
    stream = chunks(islice(sentence_stream(articles), skip, None), chunk_size)
    while True:
        with clock("read + segment"):
            chunk = next(stream, None)
        if chunk is None:
            return
        recs = [r for r, _ in chunk]
        with clock("label"):
            probs = score([r["text"] for r in recs], [c for _, c in chunk])
        yield recs, probs


def predict(args) -> None:
    clock, started = Clock(), time.time()
    # Imported even where only ONNX Runtime runs: without torch in the process, int8 labelling of 7,371
    # sentences took 12.3 s twice against 11.3 s twice with it (cause not found; runs vary by 10-30% on
    # this machine), so skipping the 1 s import would not pay from a few thousand sentences on.
    import torch
    from tqdm import tqdm

    from data.readers import check_csv_columns, input_files, iter_articles
    from model.backbone import check_model_dir
    from model.classifier import MAX_LENGTH
    from model.spans import SPAN_DIR, SpanAnnotator

    # Everything a user can get wrong is checked before the model loads (seconds).
    with clock("checks"):
        files = input_files(args.input)
        for f in files:
            if f.suffix.lower() == ".csv":
                check_csv_columns(f, args.id_column, args.text_column)
        check_model_dir(args.model)
    with clock("path choice (+ one-off ONNX export)"):
        resolve_backend(args)
    if args.html and args.html.is_dir():
        from data.readers import DataError

        raise DataError(f"{args.html}: is a folder; give an HTML file")
    has_spans = not args.no_spans and (args.model / SPAN_DIR / "config.json").is_file()
    out = Writer(args.output, run_fingerprint(args, files), args.resume, args.overwrite, spans=has_spans)
    articles = iter_articles(files, id_column=args.id_column, text_column=args.text_column, skip_bad=args.skip_bad)
    score = None
    torch.set_num_threads(args.threads)
    with clock("model load"):
        if args.engine == "local":
            score = DedupCache(load_classifier(args), args.batch_size)
        spans = SpanAnnotator(load_span_model(args), args.batch_size) if has_spans else None
    out.open()
    skip, n = out.done, out.done
    if skip:
        print(f"resuming after {skip} sentences already labelled (same inputs, model and options)", file=sys.stderr)
        last_article, prev = [], None
        for rec in out.written():
            if score is not None:  # a repeat of this sentence gets the scores the run without the break gave it
                score.remember(rec, prev)
            if prev is None or str(prev["article_id"]) != str(rec["article_id"]):
                last_article = []
            last_article.append(rec)
            prev = rec
        if spans:  # "he" in the first new sentence may name someone from the part already written
            for rec in last_article:
                spans.speakers(rec)
    if score is not None:
        labelled = local_chunks(score, articles, skip, args.chunk_size, clock)
    else:
        from model.ray_engine import labelled_chunks

        labelled = labelled_chunks(args, articles, skip)
    try:
        with tqdm(unit=" sent", desc="labelling", disable=args.quiet, initial=skip) as bar:
            for recs, probs in labelled:
                for rec, p in zip(recs, probs):
                    rec["label"] = LABELS[int(p.argmax())]
                    rec["score"] = round(float(p.max()), 6)
                    rec["scores"] = {lab: round(float(x), 6) for lab, x in zip(LABELS, p)}
                if spans:
                    with clock("spans"):
                        spans(recs)
                with clock("write"):
                    for rec in recs:
                        out.write(rec)
                    out.checkpoint()
                n += len(recs)
                bar.update(len(recs))
    except KeyboardInterrupt:
        out.keep_for_resume()
        print(f"\ninterrupted after {out.done} sentences; continue with the same command plus --resume",
              file=sys.stderr)
        raise SystemExit(130) from None
    except BaseException:
        out.abort()
        raise
    with clock("write"):
        out.close()
    detail = f" ({score.hits} duplicates reused, {score.clf.truncated} truncated to {MAX_LENGTH} tokens)" if score else ""
    print(f"{n} sentences labelled{detail} -> {args.output}")
    if args.html:
        from eval.html_report import write_html

        try:
            with clock("html"):
                write_html(args.output, args.html, args.html_threshold, quiet=args.quiet)
        except KeyboardInterrupt:
            print(f"\ninterrupted while writing the HTML view; the labels are complete in {args.output}; "
                  f"write the view with: stance-html --predictions {args.output} --output {args.html}", file=sys.stderr)
            raise SystemExit(130) from None
        print(f"HTML report -> {args.html}")
    if args.timings:
        print(clock.report(started), file=sys.stderr)


def build_parser() -> ArgumentParser:
    ap = ArgumentParser(prog="stance-predict", description=__doc__)
    ap.add_argument("--model", required=True, type=Path, help="model directory written by `stance-train`")
    ap.add_argument("--input", required=True, nargs="+", type=Path,
                    help="article files or folders (.txt, .jsonl, .csv, .html; extensions in any case)")
    ap.add_argument("--output", "--out", required=True, type=Path, help="FILE.jsonl or FILE.csv to write")
    ap.add_argument("--overwrite", action="store_true", help="discard an interrupted run's partial output and start over")
    ap.add_argument("--resume", action="store_true",
                    help="continue an interrupted run into the same --output (refused if inputs, model or options changed)")
    ap.add_argument("--batch-size", type=int, default=None, help="sentences per forward pass (default 64; 16 with --quantize int8)")
    ap.add_argument("--chunk-size", type=int, default=4096, help="sentences held in memory and written per checkpoint")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    ap.add_argument("--dtype", default="auto", choices=DTYPES,
                    help="torch weights: auto follows --backend (with --backend torch: fp32 on CPU, fp16 on CUDA); "
                         "bf16 is about 1.8x faster on CPUs with AVX512-BF16 or AMX")
    ap.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                    help="auto: the fastest path this machine supports within a point of fp32 (int8 ONNX on VNNI CPUs "
                         "with onnxruntime, else bf16 on CPUs with AVX512-BF16/AMX, fp32 elsewhere, fp16 on CUDA), "
                         "said in one line; "
                         "onnx runs the graph written by scripts/export_onnx.py in ONNX Runtime (CPU)")
    ap.add_argument("--quantize", choices=["int8"], default=None, help="with --backend onnx: the int8 graph")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="CPU threads for the model (with --engine ray: shared among the local workers)")
    ap.add_argument("--engine", default="local", choices=["local", "ray"],
                    help="ray: segment and label in a Ray Data actor pool (extra [scale])")
    ap.add_argument("--address", default=None, help="with --engine ray: join this Ray cluster (default: start a local one)")
    ap.add_argument("--num-workers", type=int, default=1, help="with --engine ray: model replicas (actors)")
    ap.add_argument("--num-gpus-per-worker", type=float, default=0, help="with --engine ray: GPUs per replica")
    ap.add_argument("--id-column", default="Body ID", help="CSV column with the article id")
    ap.add_argument("--text-column", default="articleBody", help="CSV column with the article text")
    ap.add_argument("--skip-bad", action="store_true", help="skip malformed JSONL lines instead of stopping")
    ap.add_argument("--no-spans", action="store_true", help="labels only: skip the span model (source, cue, figure) "
                    "even when the model folder has one")
    ap.add_argument("--html", type=Path, default=None, help="also write a self-contained HTML report (JSONL output only)")
    ap.add_argument("--html-threshold", type=float, default=0.75,
                    help="cosine similarity at which sentences of different articles count as the same claim")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--timings", action="store_true",
                    help="end with one stderr line of seconds per stage (start-up, model load, segmentation, ...)")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    return ap


def main(argv=None) -> None:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.html and args.output.suffix != ".jsonl":
        ap.error("--html needs a .jsonl --output")
    if args.engine == "local" and (args.address or args.num_workers != 1 or args.num_gpus_per_worker):
        ap.error("--address, --num-workers and --num-gpus-per-worker need --engine ray")
    if args.resume and args.overwrite:
        ap.error("--resume continues a partial run and --overwrite discards it; give one")
    sizes = (args.num_workers, args.threads, args.chunk_size, 1 if args.batch_size is None else args.batch_size)
    if min(sizes) < 1 or args.num_gpus_per_worker < 0:
        ap.error("--num-workers, --threads, --chunk-size and --batch-size must be at least 1, "
                 "--num-gpus-per-worker at least 0")
    run(lambda: predict(args), debug=args.debug)


if __name__ == "__main__":
    main()
