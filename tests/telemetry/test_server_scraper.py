"""The scraper against small real HTTP servers on 127.0.0.1: it collects scrapes, each
kind of failure is warned about once and never raised, and stop() returns promptly.

Wall-clock bounds are generous: the suite runs on a busy 2-core machine."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aiperf.telemetry.scraper import Scraper, probe

BODY = b"# TYPE x_total counter\nx_total 1\n# TYPE y gauge\ny 2\n"


class Handler(BaseHTTPRequestHandler):
    """Answers as the server's ``behaviour`` says."""

    def do_GET(self) -> None:  # noqa: N802 -- http.server's name
        behaviour = self.server.behaviour  # type: ignore[attr-defined]
        self.server.seen_auth = self.headers.get("Authorization")  # type: ignore[attr-defined]
        if behaviour == "sleep":
            time.sleep(1.5)
        status, body = {"404": (404, b"no"), "garbage": (200, b"<html>hi</html>\n")}.get(
            behaviour, (200, BODY))
        if behaviour == "changing":  # a counter that grows on every fetch
            self.server.fetched = getattr(self.server, "fetched", 0) + 1  # type: ignore[attr-defined]
            body = f"# TYPE n_total counter\nn_total {self.server.fetched}\n".encode()  # type: ignore[attr-defined]
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout) before the answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[str], ThreadingHTTPServer]]:
    """Start servers with a behaviour; all are shut down at the end of the test."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(behaviour: str) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = False  # server_close() then waits for its handlers
        server.behaviour = behaviour  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


def url(server: ThreadingHTTPServer, userinfo: str = "") -> str:
    return f"http://{userinfo}127.0.0.1:{server.server_address[1]}/metrics"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_scraper(urls: list[str], seconds: float, interval_s: float = 0.1,
                ) -> tuple[Scraper, list[str], float]:
    """Scrape for ``seconds``, stop, and return the scraper, warnings and stop()'s time."""
    warnings: list[str] = []
    scraper = Scraper(urls, interval_s, warnings.append)
    scraper.start()
    time.sleep(seconds)
    began = time.perf_counter()
    scraper.stop()
    stop_s = time.perf_counter() - began
    assert not [t for t in threading.enumerate() if t.name.startswith("aiperf-scrape")]
    return scraper, warnings, stop_s


def test_scraper_collects_parsed_scrapes_and_fetch_stats(serve) -> None:
    target = url(serve("ok"))

    scraper, warnings, _ = run_scraper([target], 0.5)

    scrapes = scraper.scrapes(target)
    assert [] == warnings
    assert len(scrapes) >= 3
    assert {"x", "y"} == set(scrapes[0].families)
    assert scrapes == sorted(scrapes, key=lambda s: s.timestamp_ns)
    stats = scraper.fetch_stats(target)
    assert len(scrapes) == stats.total_fetches
    assert 1 == stats.unique_updates  # the body never changed


def test_stop_does_one_last_scrape_after_the_end_mark(serve) -> None:
    target = url(serve("ok"))
    scraper = Scraper([target], 10.0, lambda _: None)
    scraper.start()
    time.sleep(0.3)
    end = scraper.mark("profiling end")

    scraper.stop()

    assert scraper.scrapes(target)[-1].timestamp_ns >= end.timestamp_ns
    assert ("profiling end",) == tuple(m.name for m in scraper.marks())


@pytest.mark.parametrize("behaviour, words", [("404", "HTTP 404"),
                                              ("garbage", "not with Prometheus")])
def test_a_failing_answer_is_warned_about_once(serve, behaviour: str, words: str) -> None:
    scraper, warnings, _ = run_scraper([url(serve(behaviour))], 0.5)

    assert 1 == len(warnings)
    assert words in warnings[0]
    assert [] == scraper.scrapes(scraper.urls[0])


def test_a_refused_connection_is_warned_about_once() -> None:
    _, warnings, _ = run_scraper([f"http://127.0.0.1:{free_port()}/metrics"], 0.5)

    assert 1 == len(warnings)
    assert "unreachable" in warnings[0]


def test_a_server_slower_than_the_timeout_is_warned_about_once_and_stop_returns(serve) -> None:
    target = url(serve("sleep"))

    _, warnings, stop_s = run_scraper([target], 1.0, interval_s=0.3)

    assert 1 == len(warnings)
    assert "did not answer within 0.3 s" in warnings[0]
    assert stop_s < 0.3 + 0.3 + 1.0 + 1.5  # interval + timeout + slack, with CI margin


def test_a_server_stopped_mid_run_is_warned_about_once(serve) -> None:
    server = serve("ok")
    target = url(server)
    warnings: list[str] = []
    scraper = Scraper([target], 0.1, warnings.append)
    scraper.start()
    time.sleep(0.4)
    server.shutdown()
    server.server_close()
    time.sleep(0.5)

    scraper.stop()

    assert 1 == len(warnings)
    assert "stopped answering" in warnings[0]
    assert scraper.scrapes(target)


def test_password_is_sent_as_basic_auth_and_never_warned(serve) -> None:
    ok, bad = serve("ok"), serve("404")

    _, warnings, _ = run_scraper([url(ok, "me:s3cr%21t@"), url(bad, "me:s3cr%21t@")], 0.3)

    assert "Basic " + base64.b64encode(b"me:s3cr!t").decode() == ok.seen_auth
    assert 1 == len(warnings)
    assert "s3cr" not in warnings[0] and "***@127.0.0.1" in warnings[0]


def test_probe_says_whether_a_url_answers_prometheus(serve) -> None:
    assert probe(url(serve("ok")), 2.0)
    assert not probe(url(serve("garbage")), 2.0)
    assert not probe(f"http://127.0.0.1:{free_port()}/metrics", 2.0)


def test_scrapes_beyond_the_cap_are_thinned_and_said_once(serve) -> None:
    target = url(serve("ok"))
    warnings: list[str] = []
    scraper = Scraper([target], 0.02, warnings.append, max_scrapes=4)
    scraper.start()
    time.sleep(0.6)
    scraper.stop()

    assert len(scraper.scrapes(target)) < 4 + 1
    assert 1 == len(warnings)
    assert "every other one" in warnings[0]


def test_bodies_after_the_first_are_parsed_only_when_the_scrapes_are_asked_for(
        serve, monkeypatch) -> None:
    """Parsing holds the GIL for milliseconds: while the run goes only the first body of a
    URL is parsed (to warn at once about a URL that is no metrics endpoint)."""
    from aiperf.telemetry import scraper as module

    parsed: list[bytes] = []
    real = module.parse_body

    def counting(body: bytes) -> dict:
        parsed.append(body)
        return real(body)

    monkeypatch.setattr(module, "parse_body", counting)
    target = url(serve("changing"))
    scraper, warnings, _ = run_scraper([target], 0.4, interval_s=0.05)
    during = len(parsed)
    scrapes = scraper.scrapes(target)

    assert (during, warnings) == (1, [])
    assert len(scrapes) >= 3
    assert len(parsed) == len(scrapes)  # every distinct body parsed once, after the run
    totals = [s.families["n"].samples[0].value for s in scrapes]
    assert totals == sorted(totals)
