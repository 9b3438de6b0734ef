"""Render predictions as one self-contained HTML page (the installed command is `stance-html`).

    python scripts/report_html.py --predictions labels.jsonl --output report.html

The renderer lives in eval/html_report.py; this file only lets the command run from a clone.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.html_report import main  # noqa: E402

if __name__ == "__main__":
    main()
