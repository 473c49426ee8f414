"""A file's identity, and the byte counts the fast path checks its parse against, in one read.

The identity is the SHA-1 of the file's bytes: `imports.content_hash` records it, and a file
whose hash is there already is not landed again, so changing the hash would land every file
of every warehouse a second time. Reading the bytes costs a pass over the file; done on a
thread of its own (hashlib and NumPy release the GIL) it overlaps the parse instead of
preceding it. The same pass counts the delimiter and line-end bytes, which is how the fast
path (fast.py) learns whether Polars' reader saw every record as DuckDB's would.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK_BYTES = 8 << 20
CR, LF, QUOTE = 13, 10, 34


@dataclass(frozen=True)
class Identity:
    digest: str  # 'sha1:<hex>'
    delimiters: int | None  # occurrences of the delimiter byte; None when not counted
    quotes: int = 0  # occurrences of '"'
    crlf: int = 0
    cr: int = 0  # lone CRs
    lf: int = 0  # lone LFs (in a file without CR: 1 when there is any, not how many)

    @property
    def line_end_kinds(self) -> int:
        """How many kinds of line end (CRLF, CR, LF) occur anywhere in the file."""
        return sum(1 for count in (self.crlf, self.cr, self.lf) if count)


def read_identity(path: Path, delimiter: str | None = None) -> Identity:
    """Hash `path`; with a one-byte `delimiter`, also count it and the line ends.
    SHA-1 is 4x faster than SHA-256 here and collisions between CSV dumps are not an attack
    we defend against. Line ends cost nearly nothing in a file without CR (most): LFs are
    only counted from the first CR on, and a file with an LF before its first CR has mixed
    line ends whatever the counts."""
    digest = hashlib.sha1(usedforsecurity=False)
    counted = delimiter is not None
    code = ord(delimiter) if delimiter is not None else 0
    delimiters = quotes = crs = crlfs = 0
    lfs_before_cr = False
    lfs = 0  # from the first CR on
    last = 0  # the previous chunk's last byte: a CRLF may straddle two chunks
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            if not counted:
                continue
            data = np.frombuffer(chunk, dtype=np.uint8)
            delimiters += int(np.count_nonzero(data == code))
            quotes += int(np.count_nonzero(data == QUOTE))
            if not crs and chunk.find(b"\r") < 0:  # memchr: no CR yet, the common case
                lfs_before_cr = lfs_before_cr or chunk.find(b"\n") >= 0
                last = chunk[-1]
                continue
            is_cr = data == CR
            crs += int(np.count_nonzero(is_cr))
            lfs += int(np.count_nonzero(data == LF))
            if last == CR and chunk[0] == LF:
                crlfs += 1
            crlfs += int(np.count_nonzero(is_cr[:-1] & (data[1:] == LF)))
            last = chunk[-1]
    return Identity(
        digest="sha1:" + digest.hexdigest(),
        delimiters=delimiters if counted else None,
        quotes=quotes,
        crlf=crlfs,
        cr=crs - crlfs,
        lf=lfs - crlfs + int(lfs_before_cr),  # at least one lone LF, when there were any
    )


class IdentityPass:
    """`read_identity` on a thread: `start` it once the delimiter is known (or not), read
    the `result` when needed; `result` starts a pass that counts nothing if none was."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="identity")
        self._future: Future[Identity] | None = None

    def start(self, delimiter: str | None = None) -> None:
        if self._future is None:
            self._future = self._pool.submit(read_identity, self._path, delimiter)

    def done(self) -> bool:
        return self._future is not None and self._future.done()

    def result(self) -> Identity:
        """The identity; raises OSError when the file could not be read."""
        self.start()
        assert self._future is not None
        return self._future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
