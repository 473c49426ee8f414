"""Fixes for Streamlit's web server, applied by `watchbuddy app` before the server starts.

Streamlit 1.67 binds its listening socket itself (`socket.socket(family)`, protocol 0) and
hands it to uvicorn. asyncio turns Nagle's algorithm off only for sockets whose protocol
is IPPROTO_TCP, so every connection the server accepts keeps Nagle on. Each response is
written as headers then body; with Nagle on, the body waits for the client's delayed ACK:
every request after the first on a keep-alive connection takes 40 ms more (measured: 44 ms
for a 60-byte file, 1.5 ms for the first request). The explorer's first render fetches
about 70 script files that way, and every websocket message can stall the same way.

Setting TCP_NODELAY on the listening socket fixes it: Linux copies it to every socket
`accept()` returns. `watchbuddy app` (and `make run`) wraps Streamlit's socket binding so
the socket has it from the start. Under a bare `streamlit run app.py` the server is already
listening when our code first runs, so the app's first script run sets it on every TCP
socket the process holds instead (`disable_nagle_on_open_sockets`): the listener, for the
connections to come, and the connections already open.
"""

from __future__ import annotations

import functools
import os
import socket
from typing import Any


def disable_nagle_on_streamlit_server() -> bool:
    """Wrap Streamlit's socket binding so the listening socket has TCP_NODELAY; returns
    whether the wrap was applied (False if this Streamlit binds differently)."""
    try:
        from streamlit.web.server.starlette import starlette_server
    except ImportError:
        return False
    bind = getattr(starlette_server, "_bind_socket", None)
    if bind is None or getattr(bind, "_watchbuddy_nodelay", False):
        return bind is not None

    @functools.wraps(bind)
    def bind_without_nagle(*args: Any, **kwargs: Any) -> socket.socket:
        sock = bind(*args, **kwargs)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_without_nagle._watchbuddy_nodelay = True  # type: ignore[attr-defined]
    starlette_server._bind_socket = bind_without_nagle
    return True


def disable_nagle_on_open_sockets() -> int:
    """Set TCP_NODELAY on every TCP socket this process holds; returns how many. Harmless
    for sockets that are not the server's (a TMDB client's, say)."""
    changed = 0
    try:
        descriptors = [int(entry) for entry in os.listdir("/proc/self/fd")]
    except OSError:  # not Linux: nothing to do (and the inheritance above is Linux's)
        return 0
    for descriptor in descriptors:
        try:
            sock = socket.socket(fileno=os.dup(descriptor))
        except OSError:  # not a socket, or already closed
            continue
        with sock:
            if sock.type != socket.SOCK_STREAM or sock.family not in (
                socket.AF_INET,
                socket.AF_INET6,
            ):
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                changed += 1
            except OSError:
                continue
    return changed


FILE_WATCHER = "STREAMLIT_SERVER_FILE_WATCHER_TYPE"


def skip_file_watching() -> None:
    """No source file watching under `watchbuddy app` (unless the environment asks for it).

    Streamlit watches the source of every imported module to offer a rerun when one is
    saved. Each new session's first script run lists them: `realpath` of ~2,000 modules on
    the server's event loop (~240 ms measured at the first render), while the browser waits
    there for the elements' code. An installed app has no sources to edit; `streamlit run
    watchbuddy/explorer/app.py` still watches them for development. Streamlit's command
    line reads its options from the environment, so this must run before it starts."""
    os.environ.setdefault(FILE_WATCHER, "none")
