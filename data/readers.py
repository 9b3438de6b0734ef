"""Article readers: a folder of .txt files, .jsonl, .csv (FNC-1 bodies as is).

Every reader yields `Article` records; ids are strings and unique per corpus.
Errors are `DataError`s with one line that names the file (and line), which
the CLIs print without a traceback.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

csv.field_size_limit(sys.maxsize)


class DataError(Exception):
    """Bad input: the message is one line naming the file and the problem."""


@dataclass
class Article:
    id: str
    text: str
    source: str = ""
    title: str = ""
    meta: dict = field(default_factory=dict)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise DataError(f"{path}: binary file (NUL bytes), not an article")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Scraped archives are often cp1252; decoding it is better than dropping the article.
        text = raw.decode("cp1252", errors="replace")
        print(f"warning: {path}: not UTF-8, decoded as cp1252", file=sys.stderr)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_txt(path: Path, source: str = "", text: str | None = None) -> Article:
    """One article per file: the file stem is its id, the folder its default source."""
    return Article(id=path.stem, text=_read_text(path) if text is None else text, source=source or path.parent.name)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Stream a UTF-8 file line by line (structured files are never guessed at: bad bytes stop)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):
                if "\x00" in line:
                    raise DataError(f"{path}:{lineno}: NUL bytes; not a text file")
                yield lineno, line
        except UnicodeDecodeError:
            raise DataError(f"{path}: not UTF-8 (after line {lineno}); re-encode it as UTF-8") from None


def read_jsonl(path: Path, source: str = "", skip_bad: bool = False) -> Iterator[Article]:
    bad = 0
    for lineno, line in _lines(path):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            art = Article(
                id=str(rec["id"]),
                text=str(rec["text"]),
                source=str(rec.get("source") or source or path.stem),
                title=str(rec.get("title") or ""),
                meta={k: v for k, v in rec.items() if k not in {"id", "text", "source", "title"}},
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            if skip_bad:
                bad += 1
                continue
            raise DataError(f"{path}:{lineno}: bad JSONL record ({type(e).__name__}: {e}); "
                            "use --skip-bad to skip such lines") from None
        yield art
    if bad:
        print(f"warning: {path}: skipped {bad} bad line(s)", file=sys.stderr)


def read_csv(path: Path, id_column: str = "Body ID", text_column: str = "articleBody", source: str = "") -> Iterator[Article]:
    check_csv_columns(path, id_column, text_column)
    for row in csv.DictReader(line for _, line in _lines(path)):
        yield Article(id=str(row[id_column]), text=(row[text_column] or "").replace("\r\n", "\n"),
                      source=source or path.stem)


def read_html(path: Path, source: str = "") -> Article:
    """The main text of a saved web page (trafilatura), or a clear refusal."""
    try:
        import trafilatura
    except ImportError:
        raise DataError(f"{path}: HTML input needs the html extra: pip install -e '.[html]'") from None
    text = trafilatura.extract(_read_text(path), include_comments=False, include_tables=False) or ""
    if not text.strip():
        raise DataError(f"{path}: no article text found in this HTML page")
    return read_txt(path, source, text)


READABLE = (".txt", ".html", ".htm", ".jsonl", ".csv")
_FOLDER_ORDER = {".txt": 0, ".html": 1, ".htm": 1, ".jsonl": 2, ".csv": 3}


def input_files(paths: list[str | Path]) -> list[Path]:
    """The files `iter_articles` will read, in reading order; checks them before any model loads.

    Folders are read one level deep: .txt, then .html/.htm, .jsonl and .csv (any case of
    extension). Other files and sub-folders are named in one note on stderr; hidden
    files (.DS_Store and the like) are passed over silently.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            found = sorted((p for p in entries if p.is_file() and p.suffix.lower() in READABLE),
                           key=lambda p: (_FOLDER_ORDER[p.suffix.lower()], p.name))
            readable = set(found)
            skipped = [p.name + ("/" if p.is_dir() else "") for p in entries if p not in readable]
            if skipped:
                shown = ", ".join(skipped[:8]) + (f" and {len(skipped) - 8} more" if len(skipped) > 8 else "")
                print(f"note: {path}: skipped {len(skipped)} item(s) that are not {', '.join(READABLE)} files "
                      f"(sub-folders are not read): {shown}", file=sys.stderr)
            if not found:
                raise DataError(f"{path}: no {', '.join(READABLE)} files in this folder")
            files += found
        elif path.suffix.lower() in READABLE:
            files.append(path)
        else:
            raise DataError(f"{path}: unsupported file type (expected .txt, .jsonl, .csv, .html or a folder of them)")
    return files


def check_csv_columns(path: Path, id_column: str, text_column: str) -> None:
    """Fail on the header line, before anything slow happens."""
    fields = next(csv.reader(line for _, line in _lines(path)), None)
    if not fields:
        raise DataError(f"{path}: empty CSV (no header row); expected columns {id_column!r} and {text_column!r}")
    missing = [c for c in (id_column, text_column) if c not in fields]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(map(repr, missing))}; the file has "
                        f"{', '.join(map(repr, fields))}; choose them with --id-column and --text-column")


def _read_file(path: Path, source: str, id_column: str, text_column: str, skip_bad: bool) -> Iterator[Article]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from read_jsonl(path, source, skip_bad)
    elif suffix == ".csv":
        yield from read_csv(path, id_column, text_column, source)
    elif suffix == ".txt":
        yield read_txt(path, source)
    else:
        yield read_html(path, source)


def iter_articles(paths: list[str | Path], source: str = "", id_column: str = "Body ID",
                  text_column: str = "articleBody", skip_bad: bool = False) -> Iterator[Article]:
    """Stream articles from files or folders, by extension; ids must be unique."""
    seen: set[str] = set()
    count = 0
    for path in input_files(paths):
        for a in _read_file(path, source, id_column, text_column, skip_bad):
            if not a.text.strip():
                continue
            if a.id in seen:
                raise DataError(f"{path}: duplicate article id {a.id!r}")
            seen.add(a.id)
            count += 1
            yield a
    if not count:
        raise DataError(f"{', '.join(map(str, paths))}: no readable articles")


def read_articles(path: str | Path, source: str = "", id_column: str = "Body ID",
                  text_column: str = "articleBody", skip_bad: bool = False) -> list[Article]:
    return list(iter_articles([path], source, id_column, text_column, skip_bad))
