"""One loopback HTTP server for both vendor emulators.

    /evotor/...        the Evotor cloud API (sandbox.evotor)
    /vk/method/...     the VK API, /vk/upload/... its photo upload server (sandbox.vk)
    /vk/id/...         VK ID: the consent page, the token and refresh endpoint (sandbox.vk.vkid)

The same object serves the test suite (in a thread) and `manage.py run_sandbox` (in the
foreground), so tests and the demo talk to one implementation.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


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
