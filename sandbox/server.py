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

Connections are kept alive (HTTP/1.1), as VK's and Evotor's servers keep them: a publish sends
some 90 requests a second to the emulators, and a new TCP connection and thread for each cost
both processes more CPU than the answers themselves (docs/benchmarks.md, "Publishing"). A
request's arrival is peeked before its request line is read, so each request on a connection is
dated by its own first bytes.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

RECEIVED_AT = "sandbox.received_at"
# How long a kept-alive connection may wait for its next request before the server closes it.
# Long, so that it never closes under a client about to reuse the connection during a test or a
# benchmark; `SandboxServer.stop` closes the idle ones at once.
KEEP_ALIVE_IDLE_SECONDS = 300
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
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        """Wake and end every connection thread (the idle ones wait for a next request)."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _RequestBody:
    """A request's body and not a byte further: on a kept-alive connection the next request
    follows it in the same stream."""

    def __init__(self, stream, length: int):
        self._stream = stream
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self._stream.read(size) if size else b""
        self.remaining = self.remaining - len(data) if len(data) == size else 0
        return data

    def readline(self, size: int | None = -1) -> bytes:
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._stream.readline(limit) if limit else b""
        self.remaining = self.remaining - len(data) if data else 0
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(self)

    def __iter__(self):
        return iter(self.readline, b"")

    def drained(self) -> bool:
        """Reads what the application left of the body; False when the client sent less."""
        while self.remaining:
            if not self.read(min(self.remaining, 65536)):
                return False
        return True


class _ServerHandler(ServerHandler):
    http_version = "1.1"

    def cleanup_headers(self):
        super().cleanup_headers()
        handler = self.request_handler
        # Without a length the body ends where the connection does.
        if "Content-Length" not in self.headers:
            handler.close_connection = True
        if handler.close_connection:
            self.headers["Connection"] = "close"


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE_IDLE_SECONDS
    # wsgiref writes the status line, Date, Server, the headers and the body one by one; on an
    # unbuffered socket each would be a send (and a TCP segment the client wakes up for) of its
    # own. Buffered, they leave together: wsgiref flushes after the body.
    wbufsize = 64 * 1024
    received_at: float | None = None

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.request)

    def finish(self):
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.request)

    def handle(self):
        self.close_connection = True
        try:
            while True:
                self.received_at = _arrival_time(self.request)
                self._handle_one_request()
                if self.close_connection:
                    return
        except (TimeoutError, ConnectionError):
            return  # idle too long, or the client went away

    def _handle_one_request(self):
        """WSGIRequestHandler.handle, for one request of a kept-alive connection."""
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():  # an error was answered; parse_request closes
            return
        if self.request_version != "HTTP/1.1":
            self.close_connection = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
            self.close_connection = True
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # a chunked body: not parsed, so not skipped either
        body = _RequestBody(self.rfile, max(0, length))
        handler = _ServerHandler(
            body, self.wfile, self.get_stderr(), self.get_environ(), multithread=False
        )
        handler.request_handler = self  # backpointer for logging
        handler.run(self.server.get_app())
        if handler.status is not None:
            # Not completed: the client went away, or the answer broke off after its headers.
            self.close_connection = True
        if not self.close_connection and not body.drained():
            self.close_connection = True
        self.wfile.flush()

    def handle_expect_100(self):
        answer = super().handle_expect_100()
        self.wfile.flush()
        return answer

    def get_environ(self):
        environ = super().get_environ()
        environ[RECEIVED_AT] = self.received_at or time.time()
        return environ

    def log_message(self, format, *args):
        pass


def _arrival_time(sock: socket.socket) -> float | None:
    """When the next bytes waiting on a connection arrived, by the kernel's clock (None if
    unknown); waits for them.

    Peeks, so the request is still there for the HTTP parser. Called before each request line
    is read: clients do not pipeline, and each body is read to its end, so the first bytes
    waiting are the request's."""
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(1, 256, socket.MSG_PEEK)
    except TimeoutError:
        raise  # an idle kept-alive connection: the handler closes it
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
        self._httpd.close_connections()
