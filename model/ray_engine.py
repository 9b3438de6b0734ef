"""`stance-predict --engine ray`: segmentation and the model in a Ray Data pipeline.

Articles are read by the driver in windows (so memory stays bounded on any
archive), each window becomes a Ray dataset, and `map_batches` sends article
batches to a pool of labeller actors that segment, deduplicate and label. The
driver restores input order by (article position, sentence index), so the
output is the same as the local engine's.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 2000  # articles per Ray dataset: enough to keep every worker busy, small enough to hold


class Labeller:
    """One model replica per Ray actor."""

    def __init__(self, model: str, backend: str, quantize: str | None, device: str, dtype: str, threads: int,
                 batch_size: int | None):
        from argparse import Namespace

        import torch

        from model.predict import DedupCache, load_classifier

        torch.set_num_threads(threads)
        args = Namespace(model=Path(model), backend=backend, quantize=quantize, device=device, dtype=dtype,
                         threads=threads)  # ONNX Runtime too: replicas must not each take every core
        self.score = DedupCache(load_classifier(args), batch_size)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        from data.readers import Article
        from model.predict import sentence_stream

        arts = [Article(id=i, text=t) for i, t in zip(batch["seq"], batch["text"])]
        rows = list(sentence_stream(arts))
        probs = self.score([r["text"] for r, _ in rows], [c for _, c in rows]) if rows else []
        return {
            "seq": np.array([r["article_id"] for r, _ in rows], dtype=np.int64),
            "index": np.array([r["index"] for r, _ in rows], dtype=np.int64),
            "paragraph": np.array([r["paragraph"] for r, _ in rows], dtype=np.int64),
            "start": np.array([r["start"] for r, _ in rows], dtype=np.int64),
            "end": np.array([r["end"] for r, _ in rows], dtype=np.int64),
            "text": np.array([r["text"] for r, _ in rows], dtype=object),
            "probs": np.array(probs, dtype=np.float32).reshape(len(rows), -1),
        }


def start(args):
    from data.readers import DataError

    try:
        import ray
    except ImportError:
        raise DataError('--engine ray needs the scale extra: pip install -e ".[scale]"') from None
    import logging

    if args.address:
        # A remote cluster gets this project's code shipped with the job; the model
        # folder must exist at the same path on every node (shared storage).
        env = {"working_dir": str(ROOT), "excludes": [".venv/", "runs/", "work/", ".git/", "*.onnx", "*.safetensors"]}
    else:
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}}
        # Ray lowers its workers' priority (nice 15) to favour the driver; here the workers do
        # all the work, and at nice 15 any other job on the machine starves them.
        os.environ.setdefault("RAY_worker_niceness", "0")
    try:
        ray.init(address=args.address, runtime_env=env, include_dashboard=False, log_to_driver=bool(os.environ.get("STANCE_RAY_LOGS")),
                 logging_level=logging.ERROR, configure_logging=True)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise DataError(f"cannot start or join Ray{' at ' + args.address if args.address else ''}: "
                        f"{str(e).strip().splitlines()[-1]}") from None
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)  # Ray Data logs each execution at INFO
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # predict.py shows one bar for the whole run
    ctx.print_on_execution_start = False
    return ray


def labelled_chunks(args, articles, skip: int = 0):
    """Yield (records, probabilities) window by window, in input order; the first `skip` are dropped."""
    import numpy as np

    from data.readers import DataError
    from model.backbone import check_model_dir
    from model.predict import chunks

    check_model_dir(args.model)  # fail in the driver with one line, not inside an actor
    ray = start(args)
    workers = args.num_workers
    threads = max(1, (args.threads or os.cpu_count() or 1) // (1 if args.address else workers))
    labeller = {"model": str(args.model.resolve()), "backend": args.backend, "quantize": args.quantize,
                "device": "cuda" if args.num_gpus_per_worker else "cpu", "dtype": args.dtype, "threads": threads,
                "batch_size": args.batch_size}
    done = 0
    try:
        for window in chunks(articles, WINDOW):
            ds = ray.data.from_items([{"seq": k, "text": art.text} for k, art in enumerate(window)],
                                     override_num_blocks=min(len(window), 4 * workers))
            ds = ds.map_batches(Labeller, fn_constructor_kwargs=labeller, batch_size=16,
                                compute=ray.data.ActorPoolStrategy(size=workers), max_restarts=0,
                                num_cpus=1 if not args.num_gpus_per_worker else 0,
                                num_gpus=args.num_gpus_per_worker or None)
            try:
                parts = list(ds.iter_batches(batch_size=None, batch_format="numpy"))
            except ray.exceptions.RayError as e:
                raise DataError(f"Ray worker failed: {_last_line(e)}") from None
            cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
            order = np.lexsort((cols["index"], cols["seq"])) if cols else []
            recs, probs = [], []
            for i in order:
                done += 1
                if done <= skip:
                    continue
                recs.append({"article_id": window[cols["seq"][i]].id, "index": int(cols["index"][i]),
                             "paragraph": int(cols["paragraph"][i]),
                             "start": int(cols["start"][i]), "end": int(cols["end"][i]), "text": str(cols["text"][i])})
                probs.append(cols["probs"][i])
            if recs:
                yield recs, probs
    finally:
        ray.shutdown()


def _last_line(e: Exception) -> str:
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__
