"""stance-build --output-dir DIR [--corpus-dir DIR | --authored-only] [--seed N]

(the same as `python -m data build ...`). Real news is used by default: the
corpora under --corpus-dir, else the `shared/corpora` folder beside this
checkout when it exists (seeds/, fnc1/ and reuters/ are read).

The annotation round trip through Label Studio (data/labelstudio.py):
    python -m data export-labelstudio --input ARTICLES... --model DIR --out tasks.json
    python -m data import-labelstudio --export export.json --corpus NAME --out data/annotations/NAME.jsonl
"""

import sys
from pathlib import Path

from data.cli import ArgumentParser, run

DEFAULT_CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def real_corpus_dir(given: Path | None, authored_only: bool = False) -> Path | None:
    """The folder of real corpora a build reads, or None for a demo on team-written text only."""
    if authored_only:
        return None
    return given or (DEFAULT_CORPORA if DEFAULT_CORPORA.is_dir() else None)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if sys.argv[0].endswith("stance-build") and argv[:1] != ["build"]:
        argv = ["build", *argv]  # the installed command has one job; `python -m data` names it
    ap = ArgumentParser(prog="python -m data", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the labelled DatasetDict", description=__doc__,
                       formatter_class=ap.formatter_class)
    b.add_argument("--output-dir", "--out", "--output_dir", required=True, type=Path, dest="out",
                   help="output folder for the saved DatasetDict")
    b.add_argument("--corpus-dir", "--corpus_dir", type=Path, default=None,
                   help=f"folder laid out like shared/corpora (seeds/*.txt, fnc1/ and reuters/train_bodies.csv; "
                        "any other sub-folder is a corpus named after it); "
                        f"default: {DEFAULT_CORPORA} when it exists. The bundled authored corpus is always used")
    b.add_argument("--authored-only", "--authored_only", action="store_true",
                   help="ignore real corpora: a demo model that does not transfer to real news")
    b.add_argument("--seed", type=int, default=42, help="seed of the article-grouped split of new articles")
    b.add_argument("--debug", action="store_true", help="show tracebacks")
    from data.labelstudio import add_commands

    add_commands(sub, ap.formatter_class)
    args = ap.parse_args(argv)
    if args.command != "build":
        labelstudio(ap, args)
        return
    if args.authored_only and args.corpus_dir:
        ap.error("--authored-only and --corpus-dir exclude each other")
    corpus_dir = real_corpus_dir(args.corpus_dir, args.authored_only)

    from data.build import build

    run(lambda: build(args.out, corpus_dir, args.seed), debug=args.debug)


def labelstudio(ap, args) -> None:
    from data import labelstudio as ls

    if args.command == "export-labelstudio":
        ls.check_export_args(ap, args)
        run(lambda: ls.export(args), debug=args.debug)
    else:
        run(lambda: ls.import_export(args), debug=args.debug)


if __name__ == "__main__":
    main()
