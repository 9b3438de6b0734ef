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
    paragraph: int = 0  # non-empty lines counted from 0: readers keep paragraphs, headlines stand alone


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


# pysbd slows down badly on very long lines (scraped pages without line breaks), so
# such lines are cut into blocks at a sentence-like boundary before segmenting.
BLOCK = 5000
_BOUNDARY = re.compile(r"[.!?][\"\u201d\u2019')\]]*\s+")


def _blocks(line: str):
    start = 0
    while len(line) - start > 2 * BLOCK:
        m = _BOUNDARY.search(line, start + BLOCK, start + 2 * BLOCK)
        cut = m.end() if m else (line.rfind(" ", start + BLOCK, start + 2 * BLOCK) + 1 or start + 2 * BLOCK)
        yield line[start:cut]
        start = cut
    yield line[start:]


def _split_line(line: str):
    if len(line) <= 2 * BLOCK:
        return _segmenter().segment(line)
    return (piece for block in _blocks(line) for piece in _segmenter().segment(block))


def segment(text: str) -> list[Sentence]:
    """Split `text` into sentences with exact character offsets."""
    return list(iter_segment(text))


def iter_segment(text: str):
    """Lazily yield sentences, so a huge article streams instead of stalling."""
    index, paragraph = 0, -1
    for m in _LINE.finditer(text):
        line = m.group()
        if not line.strip():
            continue
        paragraph += 1
        cursor = 0
        for piece in _split_line(line):
            piece = piece.strip()
            if not piece:
                continue
            pos = line.find(piece, cursor)
            if pos < 0:  # pysbd altered the text: keep the rest of the line whole
                piece = line[cursor:].strip()
                if not piece:
                    continue
                pos = line.find(piece, cursor)
            start = m.start() + pos
            yield Sentence(index, start, start + len(piece), piece, paragraph)
            index += 1
            cursor = pos + len(piece)


def sentence_hash(text: str) -> str:
    """The sha1 that stand-off annotations store instead of the sentence text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
