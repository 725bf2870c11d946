"""One loopback HTTP server for both vendor emulators.

    /evotor/...        the Evotor cloud API (sandbox.evotor)
    /vk/method/...     the VK API, /vk/upload/... its photo upload server (sandbox.vk)
    /vk/id/...         VK ID: the consent page, the token and refresh endpoint (sandbox.vk.vkid)

The same object serves the test suite (in a thread) and `manage.py run_sandbox` (in the
foreground), so tests and the demo talk to one implementation.

Each request carries the moment its first bytes reached this host (`environ[RECEIVED_AT]`),
taken from the kernel's receive timestamp where Linux offers one. VK counts requests on its own
servers, which our load does not slow down; the emulator shares the host with the code under
test, and on a busy host its threads may run tens of milliseconds after a request arrived.
Counting by the kernel's arrival time keeps the emulator's per-second window what VK would see
instead of what a starved thread saw.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

RECEIVED_AT = "sandbox.received_at"
# SO_TIMESTAMPNS is Linux's; the constant is missing from some Python builds.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SCM_TIMESTAMPNS = getattr(socket, "SCM_TIMESTAMPNS", _SO_TIMESTAMPNS)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def server_bind(self):
        super().server_bind()
        # Accepted sockets inherit the flag, so every request can be stamped on arrival.
        # Elsewhere than Linux requests are stamped when a thread reads them.
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)


class _QuietHandler(WSGIRequestHandler):
    received_at: float | None = None

    def setup(self):
        self.received_at = _arrival_time(self.request)
        super().setup()

    def get_environ(self):
        environ = super().get_environ()
        environ[RECEIVED_AT] = self.received_at or time.time()
        return environ

    def log_message(self, format, *args):
        pass


def _arrival_time(sock: socket.socket) -> float | None:
    """When the connection's first bytes arrived, by the kernel's clock (None if unknown).

    Peeks, so the request is still there for the HTTP parser. The server speaks HTTP/1.0, one
    request per connection, so the first bytes are the request's."""
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(1, 256, socket.MSG_PEEK)
    except OSError:
        return None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SCM_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return None


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: bool = True):
        from sandbox.evotor.app import EvotorSandbox
        from sandbox.vk.app import VkSandbox

        self._httpd = make_server(
            host,
            port,
            self._dispatch,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self.host, self.port = self._httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self.evotor = EvotorSandbox(public_url=self.evotor_url, seed=seed)
        self.vk = VkSandbox(public_url=f"{self.base_url}/vk", seed=seed)
        self._thread: threading.Thread | None = None

    @property
    def evotor_url(self) -> str:
        return f"{self.base_url}/evotor"

    @property
    def vk_url(self) -> str:
        return f"{self.base_url}/vk/method"

    @property
    def vk_id_url(self) -> str:
        return f"{self.base_url}/vk/id"

    def _dispatch(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        for prefix, app in (("/evotor", self.evotor), ("/vk", self.vk)):
            if path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return app.wsgi(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": "unknown sandbox path"}']

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, name="sandbox"
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
