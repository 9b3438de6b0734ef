"""python -m data build --out DIR [--corpus-dir DIR] [--seed N]"""

import argparse
from pathlib import Path

from data.cli import run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m data", description="Dataset stage: articles + stand-off labels -> DatasetDict.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the labelled DatasetDict")
    b.add_argument("--out", required=True, type=Path, help="output folder for the saved DatasetDict")
    b.add_argument("--corpus-dir", type=Path, default=None,
                   help="folder laid out like shared/corpora (seeds/*.txt, fnc1/train_bodies.csv); "
                        "the bundled authored corpus is always used")
    b.add_argument("--seed", type=int, default=42, help="seed of the article-grouped split")
    b.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)

    from data.build import build

    run(lambda: build(args.out, args.corpus_dir, args.seed), debug=args.debug)


if __name__ == "__main__":
    main()
