import shutil
import subprocess

import numpy as np
import pytest

from eval.html_report import render, same_claim_groups

ARTICLES = {
    "outlet-a": [
        {"index": 0, "text": "Dam breach reported above Marsk", "label": "unattributed", "scores": {"unattributed": 0.9}},
        {"index": 1, "text": "The governor said the dam had failed overnight.", "label": "asserted", "scores": {"asserted": 0.8}},
        {"index": 2, "text": "<script>alert(1)</script> & more", "label": "unattributed", "scores": {"unattributed": 0.7}},
    ],
    "outlet-b": [
        {"index": 0, "text": "Reports that the dam failed could not be confirmed.", "label": "unverified", "scores": {"unverified": 0.9}},
        {"index": 1, "text": "The operator denied that the dam had failed.", "label": "disputed", "scores": {"disputed": 0.9}},
    ],
}


def fake_embed(texts):
    # sentences about the dam failing point one way, everything else another
    return np.array([[1.0, 0.0, 0.0] if "dam" in t and "fail" in t else [0.0, 1.0, 0.0] for t in texts])


def test_cross_outlet_groups_join_different_articles_only():
    groups = same_claim_groups(ARTICLES, 0.9, fake_embed)
    assert len(groups) == 1
    assert sorted(r["label"] for r in groups[0]) == ["asserted", "disputed", "unverified"]


def test_render_structure_and_escaping(tmp_path):
    page = render(ARTICLES, 0.9, fake_embed)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert page.count('<details class="art"') == 2 and page.count('tabindex="0"') == 5
    assert 'id="index"' in page and 'class="cross"' in page and "1 claim(s) shared by two or more articles" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page  # self-contained, no JS
    assert "<div" not in page.split('id="articles"')[1]  # tooltips are spans, so they stay inside <p>
    (tmp_path / "r.html").write_text(page)


def test_screenshot_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium not installed (Debian package `chromium`; .ci/run installs it when apt-get works)")
    page = tmp_path / "r.html"
    page.write_text(render(ARTICLES, 0.9, fake_embed))
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
                    f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
