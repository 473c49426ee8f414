"""The package's SQL: whole files (view definitions, macros) and named statements.

A file holds either one script run whole (`pool.sql`, `scores.sql`, ...) or named statements,
each introduced by a line `-- name: some_name` and running to the next such line, loaded with
`statement("stats.sql", "some_name")`. Keeping SQL here, not in Python strings, lets a notebook
user read exactly what the CLI and the app run, and gives each rule one home.

User input never reaches SQL through these texts: statements take `$name` or `?` parameters.
`literal()` is the one way to write a value into SQL text, for the places DuckDB takes no
parameter (a `read_parquet` file list in a view definition, a `COPY ... TO` path).
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@functools.cache
def sql_file(name: str) -> str:
    """The text of `watchbuddy/sql/<name>`."""
    return resources.files(__name__).joinpath(name).read_text("utf-8")


@functools.cache
def statements(name: str) -> dict[str, str]:
    """Every named statement in the file `name`, by name."""
    text = sql_file(name)
    marks = list(_NAME_LINE.finditer(text))
    if not marks:
        raise KeyError(f"{name} holds no '-- name:' statements")
    found: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        key = mark.group(1)
        if key in found:
            raise KeyError(f"{name} names {key!r} twice")
        found[key] = text[mark.end() : end].strip().rstrip(";").strip()
    return found


def statement(file: str, name: str) -> str:
    """One named statement of `file` (a KeyError names what is there when `name` is not)."""
    named = statements(file)
    if name not in named:
        raise KeyError(f"{file} has no statement {name!r}; it has {', '.join(named)}")
    return named[name]


def literal(text: str) -> str:
    """`text` as a SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def fill(text: str, **fragments: str) -> str:
    """`text` with each `{name}` placeholder replaced by its fragment, in one pass (a
    fragment's own text is never searched for placeholders).

    Only for SQL built from our own schema (a column list, one expression per field), never
    for values: those are parameters, or `literal()` where DuckDB takes none. A fragment
    whose placeholder is missing is a KeyError, so a renamed placeholder cannot go unnoticed.
    """
    missing = [name for name in fragments if "{" + name + "}" not in text]
    if missing:
        raise KeyError(f"no placeholder {{{missing[0]}}} in the SQL text")
    return _PLACEHOLDER.sub(lambda m: fragments.get(m.group(1), m.group(0)), text)
