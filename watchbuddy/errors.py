"""The errors a user can meet, each carrying one sentence that says what to do next.

Everything a user is expected to run into (a bad CSV, a missing warehouse, a refused SQL
statement, TMDB being down) is a `WatchBuddyError`; the CLI prints its message on one line
and exits non-zero. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class WatchBuddyError(Exception):
    """Base for every expected failure; `str(err)` is the one line shown to the user."""

    exit_code: int = 1


class ConfigError(WatchBuddyError):
    """A setting or a command-line value is invalid."""

    exit_code = 2


class WarehouseError(WatchBuddyError):
    """The warehouse is missing, unreadable or locked by another writer."""


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse write lock."""


class WarehouseDamaged(WarehouseError):
    """The manifest lists a published file that is not on disk (deleted by hand)."""


class DiskFull(WarehouseError):
    """A write failed for lack of space; whatever was half-written stays unpublished."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"No space left on device while writing {path}: free some space and run again; "
            "nothing half-written was published."
        )


class LandingError(WatchBuddyError):
    """A file could not be landed at all (the import of the other files goes on)."""


class QueryRefused(WatchBuddyError):
    """A `watchbuddy sql` statement would write, or read outside the warehouse."""

    exit_code = 2


class EmptyPool(WatchBuddyError):
    """The pool has no titles and there is nothing in the data dir to land."""


class JobBusy(WatchBuddyError):
    """The job is already running (in this or another process)."""
