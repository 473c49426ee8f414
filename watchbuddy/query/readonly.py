"""Read-only SQL over the views, for `watchbuddy sql`: user text is SQL, so it is contained.

Several locks, each holding where another might not:

1. The parse tree. DuckDB parses the text; it must be one query whose every part reads: a
   SELECT (WITH, VALUES, FROM ..., DESCRIBE, SHOW, SUMMARIZE) with no COPY, INSERT, UPDATE
   or DELETE node anywhere in its tree (a CTE may hold a COPY and is still a "SELECT"), or
   an EXPLAIN of such a query (EXPLAIN ANALYZE runs what it explains).
2. The connection may open only the files its views read (`allowed_paths`, not their
   folders), with external access off, no temp directory and its configuration locked.
3. A child process runs the query: once its views are open it can create, change or delete
   no file at all (Landlock, on Linux), and its memory has a hard ceiling (`sandbox`).
4. The parent stops the child when the time limit passes or on Ctrl-C, at once: a DuckDB
   query does not always notice an interrupt, a killed process always stops.

The result comes back as an Arrow IPC stream on the child's stdout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import duckdb

from watchbuddy.errors import QueryRefused, QueryStopped, WarehouseError, WatchBuddyError
from watchbuddy.safe_text import printable
from watchbuddy.settings import SETTINGS, Secret, parse_size
from watchbuddy.sql import statement
from watchbuddy.store.views import define_views, materialized_pool, new_connection, pool_file
from watchbuddy.store.warehouse import Warehouse

if TYPE_CHECKING:
    import polars as pl

# Query nodes that only read. Every other kind (COPY_QUERY_NODE, INSERT_QUERY_NODE, ...)
# changes something, wherever in the tree it sits.
READ_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
# The two limits as `settings.SETTINGS` declares them (their variables name them in errors).
_SPECS = {spec.name: spec for spec in SETTINGS}
MEMORY_SETTING = _SPECS["sql_memory_limit"].env
TIMEOUT_SETTING = _SPECS["sql_timeout"].env
DEFAULT_MEMORY_LIMIT: str = _SPECS["sql_memory_limit"].default
DEFAULT_TIMEOUT: float = _SPECS["sql_timeout"].default
# The child's own environment: it needs no TMDB credential.
_CREDENTIALS = tuple(spec.env for spec in SETTINGS if spec.kind is Secret)
_STARTED, _RESULT, _ERROR = b"S", b"R", b"E"
SQL = "readonly.sql"
_BATCH_ROWS = 65_536
_NOT_FOR_POLARS = re.compile(r"\b(INTERVAL|UNION|BIT)\b")


def sealed_connection(
    warehouse: Warehouse, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> duckdb.DuckDBPyConnection:
    """The views, on a connection that can open nothing but the files they read.

    Not their folders: a folder listed in `allowed_directories` may also be written to
    (COPY into the warehouse would replace the manifest). No temp directory either, so the
    memory limit is where a query stops rather than where it starts to fill the disk."""
    con = new_connection()
    manifest = define_views(con, warehouse)
    files = [str(warehouse.path(f)) for table in manifest.tables for f in manifest.files(table)]
    pool = pool_file(con)
    if pool is not None:
        files.append(str(pool))
    con.execute(statement(SQL, "allowed_paths"), {"files": files})
    con.execute(statement(SQL, "memory_limit"), {"limit": f"{parse_size(memory_limit)}B"})
    con.execute(statement(SQL, "seal"))
    return con


def check_statement(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse anything but one query that only reads, judged from DuckDB's parse tree."""
    statements = _parse(con, query)
    if len(statements) != 1:
        raise QueryRefused(
            f"Give exactly one statement (got {len(statements)}); run them one at a time."
        )
    statement = statements[0]
    inside = ""
    if statement.type == duckdb.StatementType.EXPLAIN:
        explained = _explained(con, statement.query)
        if explained is None:
            _refuse("EXPLAIN")
        statement, inside = explained, " inside EXPLAIN"
    if statement.type == duckdb.StatementType.MULTI:
        # A PIVOT without an IN list: DuckDB runs it as several statements, one of which
        # creates a type, so it cannot run read-only.
        _refuse(
            _first_word(statement.query, "PIVOT") + " that runs as several statements"
            " (a PIVOT needs an explicit `IN (...)` list here)"
        )
    if statement.type != duckdb.StatementType.SELECT:
        # Named by its first word as written (DuckDB files INSTALL under LOAD, say).
        _refuse(_first_word(statement.query, statement.type.name) + inside)
    for kind in sorted(_query_node_kinds(con, statement.query) - READ_NODES):
        _refuse(kind.removesuffix("_NODE").removesuffix("_QUERY") + " inside the query")


def _first_word(text: str, default: str) -> str:
    for start, kind in duckdb.tokenize(text):
        if kind != duckdb.token_type.comment:
            return printable(text[start:].split(None, 1)[0].split("(", 1)[0].upper())
    return default


def _refuse(what: str) -> None:
    raise QueryRefused(
        f"Refused {what}: `watchbuddy sql` only reads (SELECT, WITH ... SELECT, FROM ..., "
        "VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)."
    )


def _parse(con: duckdb.DuckDBPyConnection, query: str) -> list[Any]:
    try:
        return con.extract_statements(query)
    except duckdb.Error as exc:
        raise WatchBuddyError(f"SQL error: {_one_line(exc)}") from None


def _explained(con: duckdb.DuckDBPyConnection, text: str) -> Any | None:
    """The statement an EXPLAIN explains: the longest tail of the text, starting at a token
    after the EXPLAIN, that parses as one statement by itself (EXPLAIN's options, `ANALYZE`
    or `(ANALYZE, FORMAT json)`, do not). A tail that is not a query is refused, so a
    mistaken pick can only refuse too much, never run a write."""
    tokens = [start for start, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]
    for start in tokens[1:]:
        try:
            statements = con.extract_statements(text[start:])
        except duckdb.Error:
            continue
        if len(statements) == 1:
            return statements[0]
    return None


def _query_node_kinds(con: duckdb.DuckDBPyConnection, text: str) -> set[str]:
    """The kind of every query node in the statement's parse tree (a SELECT's, each CTE's,
    each subquery's), from DuckDB's own serialization of the tree."""
    serialized = con.sql(statement(SQL, "parse_tree"), params={"text": text}).fetchall()
    tree = json.loads(serialized[0][0])
    if tree.get("error"):
        raise QueryRefused(
            f"Refused: DuckDB cannot show what this query does "
            f"({printable(tree.get('error_message'), one_line=True)}); "
            "write it as a plain SELECT."
        )
    kinds: set[str] = set()
    stack: list[Any] = [tree["statements"]]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "cte_map" in value and "type" in value:
                kinds.add(str(value["type"]))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return kinds


def run_query(
    warehouse: Warehouse,
    query: str,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    timeout: float = DEFAULT_TIMEOUT,
) -> pl.DataFrame:
    """Run one read-only statement in a contained child process and return its rows.

    `memory_limit` caps the query and its result; `timeout` (seconds) counts from when the
    views are open. Ctrl-C kills the child at once and raises `QueryStopped`."""
    import polars as pl

    parse_size(memory_limit)  # a bad setting is the user's error, not the child's
    request = json.dumps(
        {"warehouse": str(warehouse.root), "query": query, "memory_limit": memory_limit}
    )
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIALS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    started = threading.Event()
    out: list[bytes] = []
    err: list[bytes] = []
    proc: subprocess.Popen[bytes] | None = None
    readers: list[threading.Thread] = []
    try:
        # A Ctrl-C while the child starts would leave it running with nothing to stop it
        # (Popen had not returned it yet): it is held back until `proc` is set.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from watchbuddy.query.readonly import serve; serve()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                # Its own session: a Ctrl-C in the terminal reaches only us, and we stop it.
                start_new_session=True,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        readers = [
            threading.Thread(target=_read_result, args=(proc.stdout, out, started)),
            threading.Thread(target=_read_all, args=(proc.stderr, err)),
        ]
        for reader in readers:
            reader.start()
        assert proc.stdin is not None
        # The request, then stdin stays open: the child exits when it closes (we died).
        with contextlib.suppress(BrokenPipeError):  # it died at once: its stderr tells why
            proc.stdin.write(request.encode() + b"\n")
            proc.stdin.flush()
        while not started.wait(0.05) and proc.poll() is None:
            pass  # opening the views (building the pool's file the first time) is not timed
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise WatchBuddyError(
                f"The query ran longer than {TIMEOUT_SETTING} allows ({timeout:g} s) and was "
                "stopped; narrow it (a LIMIT, a filter) or raise the setting."
            ) from None
    except KeyboardInterrupt:
        raise QueryStopped("The query was stopped (Ctrl-C); nothing was written.") from None
    finally:
        if proc is not None:
            _stop(proc, readers)
    data = b"".join(out)
    if data[:1] == _RESULT:
        try:
            return pl.read_ipc_stream(io.BytesIO(data[1:]))
        except pl.exceptions.PanicException as exc:  # a type Polars does not take yet
            raise WatchBuddyError(
                f"The result has a column Polars cannot hold ({_one_line(exc)}); cast it to "
                "VARCHAR in the query."
            ) from None
    if data[:1] == _ERROR:
        raise _error_from(json.loads(data[1:]), memory_limit)
    assert proc is not None
    raise _crash(proc.returncode, b"".join(err).decode("utf-8", "replace"), memory_limit)


def _stop(proc: subprocess.Popen[bytes], readers: list[threading.Thread]) -> None:
    """Kill the child if it still runs, reap it, and collect what it wrote."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for reader in readers:
        reader.join()
    if proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()


def _read_result(stream: IO[bytes], out: list[bytes], started: threading.Event) -> None:
    first = stream.read(1)
    if first != _STARTED:
        out.append(first)
    started.set()
    _read_all(stream, out)


def _read_all(stream: IO[bytes], out: list[bytes]) -> None:
    while chunk := stream.read(1 << 20):
        out.append(chunk)


def _memory_message(memory_limit: str) -> str:
    return (
        f"The query needs more memory than {MEMORY_SETTING} allows ({memory_limit}); "
        "narrow it (a LIMIT, a filter, fewer columns) or raise the setting."
    )


def _error_from(payload: dict[str, Any], memory_limit: str) -> WatchBuddyError:
    if payload["kind"] == "memory":
        return WatchBuddyError(_memory_message(memory_limit))
    if payload["kind"] == "refused":
        return QueryRefused(payload["message"])
    error = WatchBuddyError(payload["message"])
    error.exit_code = int(payload.get("exit_code", 1))
    return error


def _crash(returncode: int, stderr: str, memory_limit: str) -> WatchBuddyError:
    """The child died without a word: an allocation past the hard ceiling aborts in C code
    (or the kernel's OOM killer stepped in); anything else is a bug, named by its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if returncode == -9 or any("memory" in line.lower() or "bad_alloc" in line for line in lines):
        return WatchBuddyError(_memory_message(memory_limit))
    last = lines[-1] if lines else f"exit status {returncode}"
    return WatchBuddyError(
        f"The SQL process stopped unexpectedly ({last[:300]}); please report it."
    )


def contained_connection(
    warehouse: Warehouse, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> duckdb.DuckDBPyConnection:
    """The sealed connection, in a process that from now on can write no file and has a
    hard memory ceiling. Irreversible: only for the child that runs one query.

    Landlock binds the calling thread and the threads it starts later, not those already
    running, so no DuckDB database (each has its own worker threads) may be alive when it is
    taken: the pool's file is built first on a connection that is then closed, and the
    sealed connection's workers start under the lock."""
    from watchbuddy.query.sandbox import cap_address_space, forbid_file_writes

    with contextlib.suppress(WarehouseError):  # no file for it: `pool` is the computed view
        materialized_pool(warehouse)
    forbid_file_writes()
    try:
        con = sealed_connection(warehouse, memory_limit)
    except duckdb.Error as exc:
        raise WatchBuddyError(f"Cannot open the views: {_one_line(exc)}") from None
    # DuckDB stops at the limit; on top of it go the result's Arrow batches (at most the
    # limit too), room for what DuckDB does not count, and the address space (not memory)
    # each worker thread's malloc arena reserves when it first allocates.
    threads = int(con.sql(statement(SQL, "threads")).fetchall()[0][0])
    cap_address_space(2 * parse_size(memory_limit) + (256 << 20) + threads * (64 << 20))
    return con


def serve() -> None:
    """The child: read the request, open and seal the views, lock the process, run the
    query, write the result (or the error) to stdout."""
    import pyarrow as pa

    stdout = sys.stdout.buffer
    request = json.loads(sys.stdin.buffer.readline())
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    memory_limit = request["memory_limit"]
    try:
        con = contained_connection(Warehouse(request["warehouse"]), memory_limit)
        cap = parse_size(memory_limit)
        stdout.write(_STARTED)
        stdout.flush()
        check_statement(con, request["query"])
        reader = _polars_ready(con.sql(request["query"])).to_arrow_reader(_BATCH_ROWS)
        batches, size = [], 0
        for batch in reader:
            size += batch.nbytes
            if size > cap:
                raise MemoryError("result larger than the memory limit")
            batches.append(batch)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, reader.schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
        stdout.write(_RESULT)
        stdout.write(sink.getvalue())
    except QueryRefused as exc:
        _write_error(stdout, "refused", str(exc))
    except (MemoryError, duckdb.OutOfMemoryException, pa.ArrowMemoryError):
        _write_error(stdout, "memory", "")
    except duckdb.PermissionException:
        _write_error(
            stdout,
            "refused",
            "Refused: the query reads or writes files outside the views; query the views "
            "(titles, pool, rejects, imports, runs, checkpoints) instead.",
        )
    except duckdb.Error as exc:
        _write_error(stdout, "error", f"SQL error: {_one_line(exc)}")
    except WatchBuddyError as exc:
        _write_error(stdout, "error", str(exc), exc.exit_code)
    stdout.flush()
    os._exit(0)  # no interpreter teardown: nothing is left to flush or close


def _polars_ready(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """The result as Polars can hold it: INTERVAL, UNION and BIT columns (Polars cannot
    import them from Arrow) as their text, and repeated column names made unique."""
    names: list[str] = []
    for name in rel.columns:
        unique, n = name, 0
        while unique in names:
            n += 1
            unique = f"{name}_{n}"
        names.append(unique)
    casts = [bool(_NOT_FOR_POLARS.search(str(t))) for t in rel.types]
    if names == list(rel.columns) and not any(casts):
        return rel
    columns = ", ".join(
        (f"CAST(#{i} AS VARCHAR)" if cast else f"#{i}") + ' AS "' + name.replace('"', '""') + '"'
        for i, (name, cast) in enumerate(zip(names, casts, strict=True), start=1)
    )
    return rel.select(columns)


def _write_error(stdout: IO[bytes], kind: str, message: str, exit_code: int = 1) -> None:
    payload = {"kind": kind, "message": message, "exit_code": exit_code}
    stdout.write(_ERROR + json.dumps(payload).encode())


def _exit_with_parent() -> None:
    """The parent keeps our stdin open while it waits; end of file means it is gone."""
    sys.stdin.buffer.read()
    os._exit(1)


def _one_line(exc: Exception) -> str:
    """DuckDB's message quotes the query, and the query may hold control characters."""
    return printable(" ".join(str(exc).split("\n")[0].split())[:400], one_line=True)
