"""stance-train --data DIR --output-dir DIR [--config FILE] [--base-model minilm|mpnet|PATH] [--teacher DIR] [...]

(the same as `python -m train ...`). The Hugging Face example scripts' spellings
work too: --output_dir, --num_train_epochs, --per_device_train_batch_size,
--model_name_or_path, --learning_rate, --resume_from_checkpoint [PATH].
"""

from pathlib import Path

from data.cli import ArgumentParser, run
from model.classifier import DTYPES
from train.config import WEIGHTINGS


def main(argv=None) -> None:
    ap = ArgumentParser(prog="stance-train", description=__doc__)
    ap.add_argument("--data", required=True, type=Path, help="saved DatasetDict from `stance-build`")
    ap.add_argument("--output-dir", "--out", required=True, type=Path, help="where the model directory is written")
    ap.add_argument("--config", type=Path, default=None, help="YAML recipe (default: train/configs/default.yaml)")
    ap.add_argument("--epochs", "--num_train_epochs", type=float, default=None, help="training epochs (recipe: 6)")
    ap.add_argument("--max-steps", type=int, default=None, help="stop after N optimiser steps (overrides epochs)")
    ap.add_argument("--seed", type=int, default=None, help="seed for initialisation and data order (recipe: 42)")
    ap.add_argument("--base-model", "--model_name_or_path", default=None, help="minilm (default), mpnet (extra [mpnet]), a local HF model dir, or a hub id")
    ap.add_argument("--batch-size", "--per_device_train_batch_size", type=int, default=None,
                    help="training batch size per device (recipe: 32)")
    ap.add_argument("--max-train-samples", type=int, default=None, help="train on a seeded random N of the training "
                    "split (learning curves; validation and test stay whole)")
    ap.add_argument("--dtype", default="auto", choices=DTYPES, help="training precision: auto = fp32 on CPU, bf16 "
                    "(else fp16) on CUDA; bf16 autocast halves MPNet's step time on CPUs with AVX512-BF16 or AMX")
    ap.add_argument("--learning-rate", type=float, default=None, help="peak learning rate (recipe: 5e-5)")
    ap.add_argument("--class-weighting", default=None, choices=WEIGHTINGS,
                    help="loss weight per class from its training frequency (recipe: sqrt_inverse)")
    ap.add_argument("--no-context", action="store_true", help="train on the sentence alone (the default recipe "
                    "already does; use --config train/configs/context.yaml for sentence + previous sentence)")
    ap.add_argument("--teacher", type=Path, action="append", default=None, help="fine-tuned teacher model dir: distil "
                    "it into this model through soft labels on the data folder's unlabelled pool; repeat for an "
                    "ensemble teacher (its probabilities are averaged)")
    ap.add_argument("--pool-size", type=int, default=None, help="with --teacher: label at most N pool sentences")
    ap.add_argument("--distil-temperature", type=float, default=None, help="with --teacher: soften the teacher's "
                    "probabilities by T (default 1: the teacher is already calibrated)")
    ap.add_argument("--no-spans", action="store_true", help="train the classifier only, without the span model "
                    "(source, cue, figure) that otherwise goes into OUTPUT_DIR/spans")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train (auto: CUDA if present)")
    ap.add_argument("--resume", "--resume_from_checkpoint", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                    help="continue from the last complete checkpoint in --output-dir (or from CHECKPOINT)")
    ap.add_argument("--overwrite", action="store_true", help="replace a model already in --output-dir")
    ap.add_argument("--keep-checkpoints", action="store_true", help="keep intermediate checkpoints after success")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)

    from train.trainer import train

    run(lambda: train(args), debug=args.debug)


if __name__ == "__main__":
    main()
