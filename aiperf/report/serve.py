"""``aiperf plot --dashboard``: serve the report and its PNG folder over local HTTP.

The page is the same self-contained ``report.html`` the ``--html`` flag writes (it needs
nothing from the server but itself), at ``/``; every other file of the plot folder (the
PNGs, ``aiperf_plot.log``) is served under its own name, and ``/files/`` lists them.
Loopback by default; it serves until Ctrl-C (or :meth:`Dashboard.stop`).
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Any

from aiperf.report.page import REPORT_NAME

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Dashboard"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The plot folder's files; ``/`` is the report, ``/files/`` the folder's listing."""

    #: A browser's speculative connection that never sends a request must not hold a
    #: thread (and the shutdown) forever.
    timeout = 10

    def translate_path(self, path: str) -> str:
        route = path.split("?", 1)[0].split("#", 1)[0]
        if route in ("/", "/index.html"):
            path = "/" + REPORT_NAME
        elif route.startswith("/files/"):
            path = path[len("/files"):]
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # a request log on the console would bury the URL line


class Dashboard:
    """An HTTP server for ``folder`` on ``host:port`` (port 0: any free one)."""

    def __init__(self, folder: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
        handler = functools.partial(_Handler, directory=str(folder))
        self._server = http.server.ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        # Ctrl-C stops at once: no waiting for connections a browser left open.
        self._server.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The report's URL."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def serve_forever(self) -> None:
        """Serve until :meth:`stop` (from another thread) or KeyboardInterrupt."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()

    def start(self) -> Dashboard:
        """Serve on a background thread (tests, benchmarks)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
