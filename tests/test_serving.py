"""The Streamlit server fixes: connections to the app server have Nagle off, whether
`watchbuddy app` started the server or `streamlit run app.py` did (the first test fails
when a Streamlit upgrade changes how the server binds: then the fix needs a look); no
source file watching under `watchbuddy app`; the first script run's work done beforehand."""

from __future__ import annotations

import gc
import os
import socket
import sys

from watchbuddy.explorer import preload
from watchbuddy.explorer.serving import (
    FILE_WATCHER,
    disable_nagle_on_open_sockets,
    disable_nagle_on_streamlit_server,
    skip_file_watching,
)


def test_connections_to_the_app_server_have_nagle_off() -> None:
    from streamlit.web.server.starlette import starlette_server

    assert disable_nagle_on_streamlit_server()
    assert disable_nagle_on_streamlit_server()  # applying it twice wraps once
    listener = starlette_server._bind_socket("127.0.0.1", 0, 8)
    try:
        listener.setblocking(True)
        with socket.create_connection(listener.getsockname()[:2]) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert client.fileno() > 0
    finally:
        listener.close()


def test_a_server_already_listening_gets_nagle_off_for_old_and_new_connections() -> None:
    def nodelay(sock: socket.socket) -> bool:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0

    with socket.socket(socket.AF_INET) as listener:  # protocol 0, like Streamlit's
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        early = socket.create_connection(listener.getsockname())
        accepted_early, _ = listener.accept()
        assert not nodelay(accepted_early)
        assert disable_nagle_on_open_sockets() >= 3
        late = socket.create_connection(listener.getsockname())
        accepted_late, _ = listener.accept()
        try:
            assert nodelay(accepted_early) and nodelay(accepted_late)
        finally:
            for sock in (early, late, accepted_early, accepted_late):
                sock.close()


def test_watchbuddy_app_watches_no_source_files_unless_asked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from streamlit import config

    monkeypatch.delenv(FILE_WATCHER, raising=False)
    skip_file_watching()
    assert os.environ[FILE_WATCHER] == "none"
    # the variable is the one Streamlit's command line reads for server.fileWatcherType
    assert config._config_options_template["server.fileWatcherType"].env_var == FILE_WATCHER
    monkeypatch.setenv(FILE_WATCHER, "poll")
    skip_file_watching()
    assert os.environ[FILE_WATCHER] == "poll"


def test_preload_imports_what_the_app_scripts_import_and_freezes_it() -> None:
    app = preload.APP
    imported = set(preload.script_imports(app))
    assert {"streamlit", "watchbuddy.jobs.scheduler", "watchbuddy.errors"} <= imported
    pages = {name for page in app.parent.glob("page_*.py") for name in preload.script_imports(page)}
    assert "watchbuddy.explorer.data" in pages  # `from watchbuddy.explorer import data`
    try:
        preload.preload(["fr", "da"])
        assert gc.get_freeze_count() > 0
        assert {"watchbuddy.explorer.data", "watchbuddy.explorer.saved_views"} <= set(sys.modules)
        assert all(module in sys.modules for module in preload.STREAMLIT_LAZY)
    finally:
        gc.unfreeze()
