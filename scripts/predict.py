"""Label every sentence of a batch of articles.

    python scripts/predict.py --model runs/model --input articles/ more.jsonl --output labels.jsonl

Inputs: .txt files or folders of them, .jsonl ({"id", "text", ...}), .csv
(--id-column/--text-column; FNC-1 bodies work as is). Output: one record per
sentence (article_id, index, start, end, text, label, score, scores) as JSONL
or CSV, written to a temporary file and renamed when complete.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.cli import run  # noqa: E402
from data.labels import LABELS  # noqa: E402


def sentence_stream(articles):
    from data.segment import segment

    for art in articles:
        prev = ""
        for s in segment(art.text):
            yield {"article_id": art.id, "index": s.index, "start": s.start, "end": s.end, "text": s.text}, prev
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
    """JSONL or CSV by extension; nothing appears at the final path until close()."""

    def __init__(self, path: Path):
        if path.suffix not in (".jsonl", ".csv"):
            from data.readers import DataError

            raise DataError(f"{path}: output must end in .jsonl or .csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        self.f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.csv = None
        if path.suffix == ".csv":
            self.csv = csv.writer(self.f)
            self.csv.writerow(["article_id", "index", "start", "end", "text", "label", "score"] + [f"score_{l}" for l in LABELS])

    def write(self, rec: dict) -> None:
        if self.csv:
            self.csv.writerow([rec[k] for k in ("article_id", "index", "start", "end", "text", "label", "score")]
                              + [rec["scores"][l] for l in LABELS])
        else:
            self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.f.close()
        os.unlink(self.tmp)


class DedupCache:
    """Scores each distinct (sentence, context) once; bounded, so memory stays flat.

    Wire copy repeats verbatim across outlets, so archives hold many duplicates.
    """

    def __init__(self, clf, batch_size: int, max_items: int = 200_000):
        from collections import OrderedDict

        self.clf, self.batch_size, self.max_items = clf, batch_size, max_items
        self.cache: "OrderedDict[tuple, object]" = OrderedDict()
        self.hits = 0

    def __call__(self, texts: list[str], contexts: list[str]):
        keys = [(t, c if self.clf.use_context else "") for t, c in zip(texts, contexts)]
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


def load_classifier(args):
    if args.backend == "onnx":
        from model.onnx_backend import OnnxClassifier

        return OnnxClassifier.load(args.model, quantize=args.quantize)
    if args.quantize:
        from data.readers import DataError

        raise DataError("--quantize int8 needs --backend onnx")
    from model.classifier import Classifier

    return Classifier.load(args.model, args.device)


def predict(args) -> None:
    import torch
    from tqdm import tqdm

    from data.readers import iter_articles

    torch.set_num_threads(args.threads)
    clf = load_classifier(args)
    score = DedupCache(clf, args.batch_size)
    articles = iter_articles(args.input, id_column=args.id_column, text_column=args.text_column, skip_bad=args.skip_bad)
    out = Writer(args.output)
    n = 0
    try:
        with tqdm(unit=" sent", desc="labelling", disable=args.quiet) as bar:
            for chunk in chunks(sentence_stream(articles), args.chunk_size):
                recs = [r for r, _ in chunk]
                probs = score([r["text"] for r in recs], [c for _, c in chunk])
                for rec, p in zip(recs, probs):
                    rec["label"] = LABELS[int(p.argmax())]
                    rec["score"] = round(float(p.max()), 6)
                    rec["scores"] = {lab: round(float(x), 6) for lab, x in zip(LABELS, p)}
                    out.write(rec)
                n += len(recs)
                bar.update(len(recs))
    except BaseException:
        out.abort()
        raise
    out.close()
    print(f"{n} sentences labelled ({score.hits} duplicates reused) -> {args.output}")
    if args.html:
        from scripts.report_html import write_html

        write_html(args.output, args.html, args.html_threshold)
        print(f"HTML report -> {args.html}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path, help="model directory written by `python -m train`")
    ap.add_argument("--input", required=True, nargs="+", type=Path, help="article files or folders")
    ap.add_argument("--output", required=True, type=Path, help="FILE.jsonl or FILE.csv")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--chunk-size", type=int, default=4096, help="sentences held in memory at once")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--backend", default="torch", choices=["torch", "onnx"],
                    help="onnx runs the graph written by scripts/export_onnx.py in ONNX Runtime (CPU)")
    ap.add_argument("--quantize", choices=["int8"], default=None, help="with --backend onnx: the int8 graph")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads for the model")
    ap.add_argument("--id-column", default="Body ID", help="CSV column with the article id")
    ap.add_argument("--text-column", default="articleBody", help="CSV column with the article text")
    ap.add_argument("--skip-bad", action="store_true", help="skip malformed JSONL lines instead of stopping")
    ap.add_argument("--html", type=Path, default=None, help="also write a self-contained HTML report (JSONL output only)")
    ap.add_argument("--html-threshold", type=float, default=0.75, help="cosine similarity for the cross-outlet view")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)
    if args.html and args.output.suffix != ".jsonl":
        ap.error("--html needs a .jsonl --output")
    run(lambda: predict(args), debug=args.debug)


if __name__ == "__main__":
    main()
