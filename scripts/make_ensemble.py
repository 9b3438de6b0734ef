"""Make an ensemble model folder: the members' label probabilities, averaged.

    python scripts/make_ensemble.py --member runs/mpnet --member runs/student --output-dir runs/ensemble

The members are copied in (the folder stands alone), with the span model of the first member that
has one. Use the folder with `stance-predict --model` and `stance-eval --model`; `pipeline(...)` loads
one member (`members/0`).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.cli import run  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--member", action="append", required=True, type=Path,
                    help="a fine-tuned model folder; give two or more")
    ap.add_argument("--output-dir", "--output_dir", "--out", dest="out", required=True, type=Path,
                    help="the ensemble folder to write")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --output-dir")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    args = ap.parse_args(argv)

    def go():
        from model.ensemble import build

        out = build(args.member, args.out, args.overwrite)
        print(f"ensemble of {len(args.member)} members -> {out}")

    run(go, debug=args.debug)


if __name__ == "__main__":
    main()
