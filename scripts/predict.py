"""Label every sentence of a batch of articles (the installed command is `stance-predict`).

    python scripts/predict.py --model runs/quickstart/model --input articles/ --output labels.jsonl

The engine lives in model/predict.py; this file only lets the command run from a clone.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.predict import main  # noqa: E402

if __name__ == "__main__":
    main()
