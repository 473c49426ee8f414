"""What the explorer's first script run would otherwise do on the first visitor's time.

`watchbuddy app` calls `preload()` (through `connections.warm`) before the server starts.
Measured with py-spy on the first render at 1.5M titles, the first script run spent about
half a second on work that is the same for every visitor: importing what the app and its
pages import (the scheduler, the statistics, the TMDB client), Streamlit's lazily imported
tables (emoji, material icons, images), the language names of the picker, and Streamlit's
one-time "is this a REPL?" check, which walks the stack and every loaded module (~90 ms).
Meanwhile the browser waits for the grid, and then fetches the elements' code from the same
busy process.

Then `gc.freeze()`: Streamlit runs a full garbage collection after every script run
(`runner.postScriptGC`), which walked the ~120,000 objects of the imported modules each time
(120-200 ms, holding the interpreter lock while the browser fetched code or drew the grid).
Frozen objects are left out of every later collection; all of them live as long as the
process anyway, and reference counting still frees what stops being used.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import importlib.util
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from watchbuddy.pool.languages import picker_label

APP = Path(__file__).resolve().parent / "app.py"
# Imported by Streamlit only when the first page uses them: the page icon's emoji table,
# the navigation's material icon names, the poster images, the script's "magic" hooks.
STREAMLIT_LAZY = (
    "streamlit.emojis",
    "streamlit.material_icon_names",
    "streamlit.runtime.scriptrunner.magic_funcs",
    "PIL.Image",
)


def script_imports(path: Path) -> Iterator[str]:
    """The modules a script imports at its top level or in any function (read with `ast`,
    the script is not run: a page renders when imported); for `from a import b`, `a.b`
    too when b is a module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def _import(names: Iterable[str]) -> None:
    for name in names:
        with contextlib.suppress(ImportError):
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)


def preload(languages: Iterable[str] = ()) -> None:
    """Import what the app's scripts import, name the pool's `languages` as the picker
    does, skip Streamlit's REPL check, then freeze what is loaded (see the module doc)."""
    from watchbuddy.explorer.app import PAGES, PAGES_DIR

    scripts = [APP, *(PAGES_DIR / page[0] for page in PAGES)]
    # Streamlit warns for each `st.cache_data` declared before its runtime exists; the
    # caches themselves are made on first use, under the runtime.
    logging.disable(logging.WARNING)
    try:
        _import(name for script in scripts for name in script_imports(script))
        _import(STREAMLIT_LAZY)
    finally:
        logging.disable(logging.NOTSET)
    for code in languages:
        picker_label(code)
    _skip_repl_check()
    gc.collect()
    gc.freeze()


def _skip_repl_check() -> None:
    """Streamlit's first element of a process asks whether it runs in a REPL, to warn a
    user who did not use `streamlit run` (`inspect.stack()`, which looks up the module of
    every frame among all loaded modules). Under `watchbuddy app` the answer is known."""
    with contextlib.suppress(ImportError):
        from streamlit import delta_generator

        if hasattr(delta_generator, "_use_warning_has_been_displayed"):
            delta_generator._use_warning_has_been_displayed = True
