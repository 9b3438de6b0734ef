"""python -m train --data DIR --output-dir DIR [--config FILE] [--base-model minilm|mpnet|PATH] [--teacher DIR] [...]"""

import argparse
from pathlib import Path

from data.cli import run
from model.classifier import DTYPES


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m train", description="Fine-tune the source-stance classifier with the HF Trainer.")
    ap.add_argument("--data", required=True, type=Path, help="saved DatasetDict from `python -m data build`")
    ap.add_argument("--output-dir", required=True, type=Path, help="where the model directory is written")
    ap.add_argument("--config", type=Path, default=None, help="YAML recipe (default: train/configs/default.yaml)")
    ap.add_argument("--epochs", type=float, default=None)
    ap.add_argument("--max-steps", type=int, default=None, help="stop after N optimiser steps (overrides epochs)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--base-model", default=None, help="minilm (default), mpnet (extra [mpnet]), a local HF model dir, or a hub id")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--max-train-samples", type=int, default=None, help="train on a seeded random N of the training "
                    "split (learning curves; validation and test stay whole)")
    ap.add_argument("--dtype", default="auto", choices=DTYPES, help="training precision: auto = fp32 on CPU, bf16 "
                    "(else fp16) on CUDA; bf16 autocast halves MPNet's step time on CPUs with AVX512-BF16 or AMX")
    ap.add_argument("--learning-rate", type=float, default=None)
    ap.add_argument("--no-context", action="store_true", help="train on the sentence alone (the default recipe "
                    "already does; use --config train/configs/context.yaml for sentence + previous sentence)")
    ap.add_argument("--teacher", type=Path, action="append", default=None, help="fine-tuned teacher model dir: distil "
                    "it into this model through soft labels on the data folder's unlabelled pool; repeat for an "
                    "ensemble teacher (its probabilities are averaged)")
    ap.add_argument("--pool-size", type=int, default=None, help="with --teacher: label at most N pool sentences")
    ap.add_argument("--distil-temperature", type=float, default=None, help="with --teacher: soften the teacher's "
                    "probabilities by T (default 1: the teacher is already calibrated)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output-dir")
    ap.add_argument("--overwrite", action="store_true", help="replace a model already in --output-dir")
    ap.add_argument("--keep-checkpoints", action="store_true", help="keep intermediate checkpoints after success")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)

    from train.trainer import train

    run(lambda: train(args), debug=args.debug)


if __name__ == "__main__":
    main()
