"""The Streamlit server fix `watchbuddy app` applies: accepted connections have Nagle off.
Fails when a Streamlit upgrade changes how the server binds (then the fix needs a look)."""

from __future__ import annotations

import socket

from watchbuddy.explorer.serving import disable_nagle_on_streamlit_server


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
