"""Sentence segmentation with character offsets.

Paragraph breaks are hard boundaries (headlines and captions sit on lines of
their own in scraped news); inside a paragraph pysbd decides. Offsets index
the original text, so `text[start:end] == sentence` always holds, which is what
stand-off annotations rely on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

_LINE = re.compile(r"[^\r\n]+")


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _split_line(line: str) -> list[str]:
    return _segmenter().segment(line)


def segment(text: str) -> list[Sentence]:
    """Split `text` into sentences with exact character offsets."""
    out: list[Sentence] = []
    for m in _LINE.finditer(text):
        line = m.group()
        if not line.strip():
            continue
        cursor = 0
        for piece in _split_line(line):
            piece = piece.strip()
            if not piece:
                continue
            pos = line.find(piece, cursor)
            if pos < 0:  # pysbd altered the text: keep the rest of the line whole
                piece = line[cursor:].strip()
                pos = line.find(piece, cursor)
            start = m.start() + pos
            out.append(Sentence(len(out), start, start + len(piece), piece))
            cursor = pos + len(piece)
    return out


def sentence_hash(text: str) -> str:
    """The sha1 that stand-off annotations store instead of the sentence text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
