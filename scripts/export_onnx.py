"""Export a trained model directory to ONNX (fp32, optionally int8).

    python scripts/export_onnx.py --model runs/model [--quantize int8]

Writes runs/model/onnx/model.onnx (and model.int8.onnx), and the same for the span model in
runs/model/spans when there is one (for an ensemble folder: into each member's folder); use them with `scripts/predict.py --backend onnx [--quantize int8]`.
(`--backend auto`, the default, exports the int8 graphs by itself on a CPU with VNNI.)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.cli import run  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--quantize", choices=["int8"], default=None, help="also write a dynamically quantised int8 graph")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args(argv)

    def go():
        from model.backbone import check_model_dir
        from model.onnx_backend import export_jobs

        check_model_dir(args.model)
        for _, how in export_jobs(args.model, args.quantize):
            print(f"exported -> {how()}")

    run(go, debug=args.debug)


if __name__ == "__main__":
    main()
