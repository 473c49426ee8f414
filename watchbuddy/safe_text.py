"""Untrusted text made safe to show: titles, overviews, file names and CSV cells come from
strangers, and a terminal obeys escape sequences (clear screen, set the window title, move
the cursor) while Markdown fetches images and draws links.

Data keeps its bytes: `--format json`/`csv` and the warehouse hold the text as it came
(JSON escapes control characters itself). Only human-readable output goes through here.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

# C0 controls (ESC, BEL, BS, CR, ...), DEL and the C1 controls (CSI is U+009B), plus the
# Unicode format characters that reorder or hide text (bidi overrides, zero-width joiners
# are harmless but U+202E "right-to-left override" makes `exe.txt` read `txt.exe`).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
_LINE_BREAKS = re.compile("[\n\t\u2028\u2029]")


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")
# Where an autolink would start: after a scheme's colon, after `www`, after the `@` of an
# address (matched on the escaped text, hence the optional backslashes).
_AUTOLINK = re.compile(r"(?i)(?::(?=(?:\\)?/)|www(?=(?:\\)?\.)|@)")
_ZERO_WIDTH_SPACE = "\u200b"


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    # `\u001b` rather than `\x1b`: the same escape is valid inside a JSON string, so
    # guarded JSON output stays JSON (json.dumps leaves DEL raw).
    return f"\\u{ord(char):04x}"


def printable(text: object, *, one_line: bool = False) -> str:
    """The text with every control character shown as a visible escape (`\\u001b`).

    Newlines and tabs stay unless `one_line` (table cells, progress lines), where they
    become spaces.
    """
    value = str(text)
    if one_line:
        value = _LINE_BREAKS.sub(" ", value)
    return _CONTROL.sub(_escape, value)


def plain_markdown(text: object) -> str:
    """Text that Markdown renders literally: a title like `![t](http://host/p.png)` stays
    those characters and fetches nothing.

    Markdown punctuation is backslash-escaped (links, images, HTML, `:red[...]`, `$...$`).
    GitHub-flavoured autolinks are found in the text *after* escapes are resolved, so a
    bare `https://host`, `www.host` or `a@host` is broken with an invisible zero-width
    space instead: it reads the same and links nowhere.
    """
    value = _MARKDOWN_PUNCTUATION.sub(r"\\\1", printable(text))
    return _AUTOLINK.sub(lambda m: m.group(0) + _ZERO_WIDTH_SPACE, value)


class GuardedStream(io.TextIOBase):
    """A terminal stream that shows control characters instead of obeying them.

    Every line the command line prints goes through one of these, so a title, file name
    or error that carries `ESC ]0;...BEL` cannot retitle, clear or rewrite the user's
    terminal, whichever command printed it. It has no `buffer`, so nothing (click
    included) can write around it; the progress bar's own `\\r` uses `unguarded`.
    """

    def __init__(self, stream: io.TextIOBase) -> None:
        super().__init__()
        self.unguarded = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # how click tells a text stream from a binary one
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.unguarded.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.unguarded.flush()

    def isatty(self) -> bool:
        return self.unguarded.isatty()

    def fileno(self) -> int:
        return self.unguarded.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.unguarded, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.unguarded, "errors", None)


def guard_terminal() -> None:
    """Route stdout and stderr through `GuardedStream` (once; idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, GuardedStream):
            setattr(sys, name, GuardedStream(stream))


def unguard_terminal() -> None:
    """Hand the real streams back (to a program that colours its own output)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, GuardedStream):
            setattr(sys, name, stream.unguarded)


def clip(text: object, limit: int = 60) -> str:
    """At most `limit` characters of a value someone gave, for a message that echoes it back:
    a 100 KB `--genre` must not turn into a 100 KB error line."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def clip_json(value: Any, limit: int = 60) -> str:
    """A value from an answer as a message quotes it: its JSON, cut short (with "…")."""
    return clip(json.dumps(value, ensure_ascii=False, default=str), limit)
