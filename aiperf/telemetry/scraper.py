"""Scrape Prometheus ``/metrics`` endpoints in background threads, off the request path.

The client's event loop never fetches or parses Prometheus text: each URL gets its own
daemon thread (so one hanging server cannot delay the others) that fetches it every
``interval_s`` with :mod:`urllib.request` and keeps the body. Only the first body of each
URL is parsed while the run goes (to say at once when it is not Prometheus); the others
are parsed with :func:`~aiperf.telemetry.prometheus.parse_exposition` when
:meth:`Scraper.scrapes` is first asked for them, after the run: parsing holds Python's
GIL for milliseconds, which a thread would take from the event loop that times the
requests. A body equal to the previous one is kept once and parsed once.

A failing endpoint (refused, HTTP error, timeout, not Prometheus, or gone mid-run) is
reported once per URL and kind of failure through ``warn``, and the thread keeps trying;
nothing here raises into the caller. ``warn`` is called from the scraper
threads, so it must be thread-safe (appending to a list or logging is).

URLs may carry credentials (``http://user:pass@host/metrics``): they are sent as HTTP
Basic authentication and never appear in a warning (:func:`redact`).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

from aiperf.telemetry.prometheus import Family, Scrape, parse_exposition

__all__ = ["FetchStats", "Mark", "Scraper", "fetch", "fetch_body", "parse_body", "probe", "redact"]

#: Scrapes kept per URL before every other one is dropped (100,000 at 1 s is 27 hours).
MAX_SCRAPES = 100_000
#: The longest a fetch may take, whatever the interval.
MAX_TIMEOUT_S = 5.0
#: A larger body is not a metrics page; reading stops there.
MAX_BODY_BYTES = 64 * 1024 * 1024


@attrs.frozen
class Mark:
    """A named moment of the run (``"profiling start"``), wall clock in ns."""

    name: str
    timestamp_ns: int


@attrs.frozen
class FetchStats:
    """How one endpoint answered over the run (the ``endpoint_info`` of the export).

    A fetch counts when it gave a parsed exposition. An *update* is a fetch whose body
    differed from the previous one: servers refresh their metrics less often than they
    are scraped, and the update interval says how fresh the numbers are.
    """

    url: str
    total_fetches: int
    failed_fetches: int
    first_fetch_ns: int | None
    last_fetch_ns: int | None
    avg_fetch_latency_ms: float | None
    unique_updates: int
    first_update_ns: int | None
    last_update_ns: int | None
    avg_update_interval_ms: float | None
    median_update_interval_ms: float | None


def redact(url: str) -> str:
    """``http://user:pw@host/m`` -> ``http://***@host/m``: the whole user-info goes, since
    a token is often passed as the user name; other text comes back unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


class FetchError(Exception):
    """One failed fetch: ``kind`` groups failures for the one-warning-per-kind rule."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _request(url: str) -> urllib.request.Request:
    """A GET for ``url`` with its user-info moved into a Basic ``Authorization`` header
    (urllib would otherwise read ``pass@host`` as the port)."""
    parts = urlsplit(url)
    headers = {"Accept": "text/plain;version=0.0.4;q=0.9,*/*;q=0.1"}
    if "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        url = urlunsplit(parts._replace(netloc=host))
    return urllib.request.Request(url, headers=headers)


def fetch(url: str, timeout_s: float) -> tuple[bytes, dict[str, Family]]:
    """The body of ``url`` and its families; :class:`FetchError` on any failure."""
    body = fetch_body(url, timeout_s)
    return body, parse_body(body)


def parse_body(body: bytes) -> dict[str, Family]:
    """The families of a fetched body; :class:`FetchError` (``garbage``) when it holds
    none."""
    try:
        families = parse_exposition(body.decode("utf-8", errors="replace"))
    except ValueError:
        families = {}
    if not families:
        raise FetchError("garbage", "answered, but not with Prometheus metrics")
    return families


def fetch_body(url: str, timeout_s: float) -> bytes:
    """The body of ``url``, unparsed; :class:`FetchError` when it cannot be fetched."""
    try:
        with urllib.request.urlopen(_request(url), timeout=timeout_s) as response:
            body: bytes = response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as e:
        raise FetchError("http", f"answered HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise FetchError("timeout", f"did not answer within {timeout_s:g} s") from None
        raise FetchError("unreachable", f"is unreachable ({e.reason})") from None
    except TimeoutError:
        raise FetchError("timeout", f"did not answer within {timeout_s:g} s") from None
    except (OSError, http.client.HTTPException) as e:
        raise FetchError("unreachable", f"is unreachable ({e.__class__.__name__}: {e})") from None
    except ValueError as e:  # a malformed URL
        raise FetchError("url", f"is not a usable URL ({e})") from None
    return body


def probe(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``url`` answers a Prometheus exposition with at least one metric now."""
    try:
        fetch(url, timeout_s)
    except FetchError:
        return False
    return True


@attrs.frozen
class _Fetched:
    """A fetched body, parsed later (:meth:`Scraper.scrapes`); equal bodies share one
    ``body`` object."""

    timestamp_ns: int
    latency_ms: float
    body: bytes = attrs.field(repr=False)


class _Endpoint:
    """One URL's scrapes and fetch statistics; guarded by the scraper's lock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.scrapes: list[_Fetched] = []
        #: Parsed bodies by digest, filled by Scraper.scrapes after the run.
        self.parsed: dict[bytes, dict[str, Family] | None] = {}
        self.keep_every = 1  # doubles at each thinning, so the kept scrapes stay evenly spaced
        self.fetches = 0
        self.failures = 0
        self.first_fetch_ns: int | None = None
        self.last_fetch_ns: int | None = None
        self.latency_sum_ms = 0.0
        self.last_digest = b""
        self.update_ns: list[int] = []
        self.warned: set[str] = set()
        self.ok_once = False


class Scraper:
    """Fetch ``urls`` every ``interval_s`` seconds in background threads until :meth:`stop`.

    ``warn`` gets one line per URL and kind of failure (the password redacted).
    """

    def __init__(self, urls: Sequence[str], interval_s: float, warn: Callable[[str], None],
                 *, max_scrapes: int = MAX_SCRAPES) -> None:
        if interval_s <= 0:
            raise ValueError(f"the scrape interval must be positive, not {interval_s}")
        self.urls = tuple(dict.fromkeys(urls))
        self.interval_s = interval_s
        self.timeout_s = min(interval_s, MAX_TIMEOUT_S)
        self._warn = warn
        self._max_scrapes = max(2, max_scrapes)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._endpoints = {url: _Endpoint(url) for url in self.urls}
        self._marks: list[Mark] = []
        self._threads: list[threading.Thread] = []
        self._closed = False  # set once stop() returns: late results are dropped

    def start(self) -> None:
        """Start one daemon thread per URL; the first fetch happens at once."""
        if self._threads:
            raise RuntimeError("this scraper was already started")
        for url in self.urls:
            thread = threading.Thread(target=self._run, args=(self._endpoints[url],),
                                      name=f"aiperf-scrape {redact(url)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def mark(self, name: str) -> Mark:
        """Record the moment ``name`` (wall clock, ns) and return it."""
        mark = Mark(name, time.time_ns())
        with self._lock:
            self._marks.append(mark)
        return mark

    def marks(self) -> tuple[Mark, ...]:
        """The marks recorded so far, in order."""
        with self._lock:
            return tuple(self._marks)

    def stop(self) -> None:
        """Do one last scrape of every URL and end the threads.

        Returns within about ``interval_s + timeout_s`` even when a server hangs: a
        thread still fetching then is left to finish on its own (it is a daemon and
        its fetch has a timeout); what it gets after that is dropped.
        """
        self._stop.set()
        deadline = time.perf_counter() + self.interval_s + self.timeout_s + 1.0
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.perf_counter()))
        with self._lock:
            self._closed = True

    def scrapes(self, url: str) -> list[Scrape]:
        """The kept scrapes of ``url``, oldest first, parsed now (once per distinct body;
        a body that holds no metrics is left out, with one warning)."""
        with self._lock:
            endpoint = self._endpoints[url]
            fetched = list(endpoint.scrapes)
        out = []
        for item in fetched:
            families = self._parsed(endpoint, item.body)
            if families is not None:
                out.append(Scrape(url, item.timestamp_ns, item.latency_ms, families))
        return out

    def _parsed(self, endpoint: _Endpoint, body: bytes) -> dict[str, Family] | None:
        digest = hashlib.blake2b(body, digest_size=16).digest()
        if digest not in endpoint.parsed:
            try:
                endpoint.parsed[digest] = parse_body(body)
            except FetchError as error:
                endpoint.parsed[digest] = None
                self._say(endpoint, error.kind, f"{error}; those scrapes are left out",
                          late=True)
        return endpoint.parsed[digest]

    def all_scrapes(self) -> dict[str, list[Scrape]]:
        """The kept scrapes of every URL, by URL."""
        return {url: self.scrapes(url) for url in self.urls}

    def fetch_stats(self, url: str) -> FetchStats:
        """How ``url`` answered so far."""
        with self._lock:
            e = self._endpoints[url]
            updates = list(e.update_ns)
            intervals = [(b - a) / 1e6 for a, b in zip(updates, updates[1:], strict=False)]
            return FetchStats(
                url=url, total_fetches=e.fetches, failed_fetches=e.failures,
                first_fetch_ns=e.first_fetch_ns, last_fetch_ns=e.last_fetch_ns,
                avg_fetch_latency_ms=e.latency_sum_ms / e.fetches if e.fetches else None,
                unique_updates=len(updates),
                first_update_ns=updates[0] if updates else None,
                last_update_ns=updates[-1] if updates else None,
                avg_update_interval_ms=statistics.fmean(intervals) if intervals else None,
                median_update_interval_ms=statistics.median(intervals) if intervals else None)

    def all_fetch_stats(self) -> Mapping[str, FetchStats]:
        """:meth:`fetch_stats` of every URL, by URL."""
        return {url: self.fetch_stats(url) for url in self.urls}

    def _run(self, endpoint: _Endpoint) -> None:
        """Fetch until stopped, then once more (the scrape that bounds the window's end)."""
        while True:
            stopping = self._stop.is_set()
            started = time.perf_counter()
            self._scrape_once(endpoint, final=stopping)
            if stopping:
                return
            self._stop.wait(max(0.0, self.interval_s - (time.perf_counter() - started)))

    def _scrape_once(self, endpoint: _Endpoint, *, final: bool) -> None:
        timestamp_ns = time.time_ns()
        started = time.perf_counter()
        try:
            body = fetch_body(endpoint.url, self.timeout_s)
            digest = hashlib.blake2b(body, digest_size=16).digest()
            if not endpoint.ok_once:
                # The first body is parsed at once: a URL that is no metrics endpoint is
                # said at the start of the run, not at its end.
                endpoint.parsed[digest] = parse_body(body)
        except FetchError as error:
            self._failed(endpoint, error)
            return
        except Exception as error:  # noqa: BLE001 -- the thread must outlive any surprise
            self._failed(endpoint, FetchError(
                "error", f"failed: {error.__class__.__name__}: {error}"))
            return
        latency_ms = (time.perf_counter() - started) * 1e3
        with self._lock:
            if self._closed:
                return
            e = endpoint
            e.ok_once = True
            e.fetches += 1
            e.latency_sum_ms += latency_ms
            e.first_fetch_ns = e.first_fetch_ns if e.first_fetch_ns is not None else timestamp_ns
            e.last_fetch_ns = timestamp_ns
            if digest != e.last_digest:
                if len(e.update_ns) < self._max_scrapes:
                    e.update_ns.append(timestamp_ns)
            elif e.scrapes:
                body = e.scrapes[-1].body  # an unchanged body is kept once
            e.last_digest = digest
            if final or e.fetches % e.keep_every == 0:
                e.scrapes.append(_Fetched(timestamp_ns, latency_ms, body))
            thinned = len(e.scrapes) >= self._max_scrapes
            if thinned:
                e.scrapes = e.scrapes[::2]
                e.keep_every *= 2
        if thinned:
            self._say(endpoint, "thinned", f"has {self._max_scrapes:,} scrapes in memory; "
                      "from now on every other one is kept")

    def _failed(self, endpoint: _Endpoint, error: FetchError) -> None:
        with self._lock:
            endpoint.failures += 1
            gone = endpoint.ok_once and error.kind in ("unreachable", "timeout", "http")
        message = str(error)
        if gone:
            message = f"stopped answering: {message}"
        self._say(endpoint, error.kind, f"{message}; still trying every {self.interval_s:g} s")

    def _say(self, endpoint: _Endpoint, kind: str, message: str, *,
             late: bool = False) -> None:
        """Warn once per URL and ``kind``, with every trace of the password removed
        (``late``: about what was fetched, said while it is parsed after the run)."""
        with self._lock:
            if kind in endpoint.warned or (self._closed and not late):
                return
            endpoint.warned.add(kind)
        text = f"server metrics: {redact(endpoint.url)} {message}"
        password = urlsplit(endpoint.url).password if "@" in endpoint.url else None
        if password:
            text = text.replace(password, "***").replace(unquote(password), "***")
        try:
            self._warn(text)
        except Exception:  # noqa: BLE001, S110 -- a broken warn hook must not end the scraping
            pass
