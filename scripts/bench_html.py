"""HTML view at batch scale: labelling time against HTML time, and a screenshot.

    python scripts/bench_html.py --model runs/quickstart/model [--articles 1000] [--out runs/bench_html]

Writes N articles to a folder: the three example stories, each article a copy of
one outlet's text with its own opening line, so wire copy repeats as in an
archive. Then it times `stance-predict` labelling them, and the HTML stage
separately, and prints both with the CPU's features. The budget is HTML
within 2x the labelling time. With --screenshot, headless Chromium saves a PNG
of the page.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def cpu_features() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    want = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return " ".join(f for f in want if f in flags) or "no AVX2"


def screenshot(page: Path, png: Path, height: int = 1400) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("no chromium: screenshot skipped")
        return
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={png.parent / '.chromium'}", f"--screenshot={png}",
                    f"--window-size=1200,{height}", page.resolve().as_uri()], capture_output=True, timeout=300)
    shutil.rmtree(png.parent / ".chromium", ignore_errors=True)
    print(f"screenshot -> {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="model directory")
    ap.add_argument("--articles", type=int, default=1000, help="number of articles to label and render")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_html"), help="work folder")
    ap.add_argument("--screenshot", type=Path, default=None, help="also save a PNG of the page here")
    args = ap.parse_args()

    from eval.html_report import write_html
    from model.predict import main as predict_main

    src = sorted((ROOT / "data" / "examples").glob("*.txt"))
    arts = args.out / "articles"
    shutil.rmtree(args.out, ignore_errors=True)
    arts.mkdir(parents=True)
    for k in range(args.articles):
        story = src[k % len(src)].read_text()
        (arts / f"outlet{k % 7}_{k:04d}.txt").write_text(f"Report {k} from the valley\n{story}")
    preds = args.out / "labels.jsonl"
    t0 = time.perf_counter()
    try:
        predict_main(["--model", str(args.model), "--input", str(arts), "--output", str(preds), "--quiet"])
    except SystemExit as e:
        if e.code:
            raise
    t1 = time.perf_counter()
    write_html(preds, args.out / "labels.html", quiet=True)
    t2 = time.perf_counter()
    n = sum(1 for _ in open(preds))
    size = (args.out / "labels.html").stat().st_size / 1e6
    print(f"CPU features: {cpu_features()}")
    print(f"{args.articles} articles, {n} sentences: labelling {t1 - t0:.1f}s, HTML {t2 - t1:.1f}s "
          f"({(t2 - t1) / (t1 - t0):.2f}x labelling; budget 2x), page {size:.1f} MB")
    if args.screenshot:
        screenshot(args.out / "labels.html", args.screenshot)


if __name__ == "__main__":
    main()
