"""The Streamlit server fix: connections to the app server have Nagle off, whether
`watchbuddy app` started the server or `streamlit run app.py` did. The first test fails
when a Streamlit upgrade changes how the server binds (then the fix needs a look)."""

from __future__ import annotations

import socket

from watchbuddy.explorer.serving import (
    disable_nagle_on_open_sockets,
    disable_nagle_on_streamlit_server,
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
