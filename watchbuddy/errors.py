"""The errors a user can meet, each carrying one sentence that says what to do next.

Everything a user is expected to run into (a bad CSV, a missing warehouse, a refused SQL
statement, TMDB being down) is a `WatchBuddyError`, and every one of them is declared here,
whichever stage raises it: the command line, the explorer and the jobs catch this one base
class, print its message on one line and exit with its `exit_code`. Anything else is a bug and
keeps its traceback. Each class's docstring says when it is raised and what the user does next;
the message itself carries the specifics (which file, which setting, which endpoint).

Exceptions that never reach a user (a row refused during landing, a file that is not a table
of titles) stay private to the module that raises and catches them.
"""

from __future__ import annotations


class WatchBuddyError(Exception):
    """Base for every expected failure; `str(err)` is the one line shown to the user."""

    exit_code: int = 1


# Settings and command-line values -----------------------------------------------------------


class ConfigError(WatchBuddyError):
    """A setting (environment or `watchbuddy.toml`) or a command-line value is invalid.

    Raised before anything is read or written; fix the value the message names and run the
    command again."""

    exit_code = 2


class InvalidValue(ConfigError):
    """A candidate filter's value its registry entry refuses (`pool/filters.py`).

    `str()` is the sentence `validated()` and the CLI show; `reason` the short phrase the
    explorer's "Ignored ..." note gives for a link parameter, which is then left out."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NoStreamingData(ConfigError):
    """A provider filter names a region no `watchbuddy providers` fetch has brought data for.

    Raised before any candidate is read; run `watchbuddy providers --region R` (the message
    names R and the regions that have data) and ask again."""


class UnknownProvider(ConfigError):
    """A provider filter names a provider the region's list does not have (by id, name or
    alias).

    The message lists the region's providers; use one of those names or ids."""


class UnknownPreset(ConfigError):
    """`recommend --preset NAME` or `presets delete NAME` names no saved view.

    The message lists the saved names; save a view in Explore first, or use one of those."""


class InvalidViewName(ConfigError):
    """A saved view's name is empty or too long; the message says what a name may be."""


class UnknownTitle(ConfigError):
    """A liked title (`--like`, `like=` in a link) names no title of the pool, or several.

    The message lists the titles it could mean; give one as movie:ID or tv:ID, or add the
    release year."""


# The warehouse (store/) ---------------------------------------------------------------------


class WarehouseError(WatchBuddyError):
    """The warehouse is missing, unreadable or locked by another writer.

    Check that `WATCHBUDDY_WAREHOUSE` points at a warehouse this user can read (`watchbuddy
    bootstrap` creates one), as the message says."""


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse write lock for longer than a writer waits.

    Nothing was written; wait for the other import or job to finish (the message names its
    process) and run again."""


class WarehouseDamaged(WarehouseError):
    """The manifest lists a published file that is not on disk (deleted by hand).

    Restore the file, or rebuild the warehouse by landing the data dir again."""


class DiskFull(WarehouseError):
    """A write failed for lack of space; whatever was half-written stays unpublished.

    Free some space and run the same command again: it starts from the last published state."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"No space left on device while writing {path}: free some space and run again; "
            "nothing half-written was published."
        )


# Landing CSV files (sources/csv/) -----------------------------------------------------------


class LandingError(WatchBuddyError):
    """A file could not be landed at all (the import of the other files goes on).

    Reported per file in the import report and the `imports` view; fix or remove the file and
    run `watchbuddy bootstrap` again."""


class UnreadableCsv(LandingError):
    """DuckDB's reader refused the file as a whole (not row by row).

    Raised while landing a file; the message says what the reader met. Save the file again as
    a plain CSV (or fix the line the message points to) and import again."""


# Your watch history (sources/history/) ------------------------------------------------------


class HistoryFileError(ConfigError):
    """A file given to `watchbuddy history import` cannot be read, or is no export of a
    format the importer understands (the message lists them).

    Nothing is imported; give the export file as Trakt, Letterboxd or IMDb wrote it (or the
    right `--source`) and run the command again."""


class UnknownTitleKey(ConfigError):
    """A title given to `watchbuddy not-interested` is not `movie:ID` or `tv:ID`.

    Nothing is changed; write each title as its media type and TMDB id (`movie:27205`)."""


# TMDB (sources/tmdb/) -----------------------------------------------------------------------


class TmdbError(WatchBuddyError):
    """TMDB could not be used for this run (down, refusing, or misconfigured).

    Raised by `TmdbClient` for an answer that is not data (a 4xx, a redirect); the job stops,
    its run record says why, and nothing it fetched is published. Fix what the message names
    (usually `WATCHBUDDY_TMDB_BASE_URL`) and run the job again."""

    @property
    def reason(self) -> str:
        """What went wrong, without what a job makes of it (the fallback words it its way)."""
        return str(self)


class TmdbAuthError(TmdbError):
    """TMDB refused the credential (HTTP 401).

    Raised at the first 401, without retrying (retrying a bad key only earns a ban); check
    `TMDB_API_KEY` or `TMDB_READ_ACCESS_TOKEN` and run the job again."""


class TmdbUnavailable(TmdbError):
    """TMDB kept failing after every retry (timeouts, connection errors, 5xx, 429s), or the
    process is shutting down.

    Nothing was published and the checkpoint is unchanged, so the next run starts where this
    one did; try again later. `reason` is what failed, without that advice."""

    JOB_OUTCOME = "; nothing was published and the checkpoint is unchanged"

    def __init__(self, reason: str, advice: str = ", try again later.") -> None:
        super().__init__(reason + self.JOB_OUTCOME + advice)
        self._reason = reason

    @property
    def reason(self) -> str:
        return self._reason


class ExportsUnavailable(TmdbError):
    """TMDB's daily ID export files could not be read: the server is down or answers an
    error other than "not there" (403/404), the URL is wrong, or a file is not gzip NDJSON.

    Files landed before the failure stay landed; the one being read is not published, and
    the next `watchbuddy exports` run lands it. Check `WATCHBUDDY_TMDB_EXPORTS_URL`, or try
    again later."""


class MissingCredential(TmdbError):
    """No TMDB credential is set, so a TMDB job cannot start.

    Raised when a `TmdbClient` is made; set `TMDB_API_KEY` (v3 key) or
    `TMDB_READ_ACCESS_TOKEN` (v4 token), in the environment or `watchbuddy.toml`."""

    exit_code = 2


class TmdbMalformed(TmdbError):
    """TMDB answered one request with something unusable twice (malformed JSON, an answer
    past the size cap, a page without its envelope): that request is lost, the run goes on.

    Callers catch it per request and record the gap (a `TmdbError`, so one that is not
    caught still ends the run as failed rather than passing silently); the user runs the job
    again later. `problem` says what the last answer was, as a noun phrase ("malformed
    JSON")."""

    def __init__(self, path: str, problem: str = "malformed JSON") -> None:
        super().__init__(f"TMDB answered {path} with {problem} twice; run the job again later.")
        self.path = path
        self.problem = problem


# The pool, jobs and queries (pool/, jobs/, query/) -------------------------------------------


class EmptyPool(WatchBuddyError):
    """The pool has no titles and there is nothing in the data dir to land.

    Put TMDB CSV dumps in the data dir and run `watchbuddy bootstrap` (or `watchbuddy
    demo-data` for a synthetic set), or set a TMDB credential so that the fallback can fill
    it."""


class JobBusy(WatchBuddyError):
    """The job is already running (in this or another process).

    Nothing was started; wait for the running one to finish (`watchbuddy jobs` shows it)."""


class QueryRefused(WatchBuddyError):
    """A `watchbuddy sql` statement would write, or read outside the warehouse.

    Nothing ran; `watchbuddy sql` only reads the views, so rewrite the statement as a query
    over them."""

    exit_code = 2


class QueryStopped(WatchBuddyError):
    """Ctrl-C stopped a `watchbuddy sql` query; nothing was written.

    A WatchBuddyError, not a KeyboardInterrupt, so that the command line says so in one line
    rather than click's "Aborted!". Run it again with a tighter query or a higher
    `WATCHBUDDY_SQL_TIMEOUT`."""

    exit_code = 130
