"""The simulator's knobs: :class:`SimOptions`, parsed from ``sim://?...`` URLs or CLI flags.

One table of fields (name, kind, default, help) drives the attrs class, the URL parser and
the ``aiperf sim serve`` flags, so a new knob is added in one place. Parsing gathers every
problem before it raises, so a user with three typos sees three lines, not one.

``profile`` picks the real server to imitate (:mod:`aiperf.sim.profiles`). The connection
quirks default to None, "the profile's value"; one given explicitly overrides the profile
(``sim://?profile=llama.cpp&close_after_stream=false``). :attr:`SimOptions.quirks` is the
result. Switches take true/false, 1/0, yes/no or on/off.

Prefix caching (``prefix_cache_tokens``, ``block_tokens``): in realistic mode a
request's cached leading tokens cost no prefill time; deterministic mode keeps its fixed
``ttft_ms`` whatever was cached (it promises timings that nothing changes) but still
reports the cached tokens.

Output length: a request's ``max_tokens`` (or ``max_completion_tokens``) when it sends
one, else ``osl``, in both modes; reasoning tokens are emitted on top of that.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from aiperf.sim.profiles import PROFILES, Profile, Quirks

MODES = ("deterministic", "realistic")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
#: How ``aiperf sim serve --help`` shows the default of an option that the profile sets.
PER_PROFILE = "per profile"


class SimOptionsError(ValueError):
    """One or more bad simulator options; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid simulator options:\n  " + "\n  ".join(problems))


@attrs.frozen
class _Kind:
    """How one option's raw text becomes a value, and what a valid value is."""

    python_type: type
    describe: str
    parse: Callable[[Any], Any]  # raises ValueError on a bad value


def _number(lo: float, hi: float = math.inf) -> _Kind:
    upper = "" if hi == math.inf else f" and <= {hi:g}"
    describe = f"a number >= {lo:g}{upper}"

    def parse(raw: Any) -> float:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ValueError
        return value

    return _Kind(float, describe, parse)


def _whole(lo: int, hi: int | None = None) -> _Kind:
    describe = f"a whole number >= {lo}" + (f" and <= {hi}" if hi is not None else "")

    def parse(raw: Any) -> int:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        value = int(raw)  # int("2.5") raises, which is what we want
        if value < lo or (hi is not None and value > hi):
            raise ValueError
        return value

    return _Kind(int, describe, parse)


def _choice(*choices: str) -> _Kind:
    def parse(raw: Any) -> str:
        if raw not in choices:
            raise ValueError
        return raw

    return _Kind(str, "one of " + ", ".join(choices), parse)


def _switch() -> _Kind:
    def parse(raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError

    # The command line hands over text ("--close-after-stream false"): a plain boolean
    # flag could not override a profile that turns the quirk on.
    return _Kind(str, "true or false", parse)


def _per_profile(kind: _Kind) -> _Kind:
    """``kind``, or None for "the profile's value" (the default; never parsed from text)."""

    def parse(raw: Any) -> Any:
        return None if raw is None else kind.parse(raw)

    return _Kind(kind.python_type, kind.describe, parse)


def _text() -> _Kind:
    def parse(raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError
        return raw

    return _Kind(str, "a non-empty name", parse)


_MS = _number(0)
_RATE = _number(0, 1)


def _option(kind: _Kind, default: Any, help: str, *, mode: str | None = None) -> Any:
    """An option; ``mode`` names the only mode it applies to (its help says so too)."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        try:
            kind.parse(value)
        except (TypeError, ValueError):
            raise ValueError(_bad_value(attribute.name, value, kind)) from None

    help = f"{mode}: {help}" if mode else help
    return attrs.field(default=default, validator=check,
                       metadata={"kind": kind, "help": help, "mode": mode})


def _bad_value(name: str, raw: Any, kind: _Kind) -> str:
    return f"{name}: expected {kind.describe}, got {raw!r}"


@attrs.frozen(kw_only=True)
class SimOptions:
    """Everything that shapes the simulator's behaviour (see the module docstring)."""

    mode: str = _option(_choice(*MODES), "realistic",
                        "deterministic: fixed TTFT/ITL; realistic: batching, queueing, load")
    profile: str = _option(_choice(*PROFILES), "generic",
                           f"server to imitate ({', '.join(PROFILES)}): connection handling, "
                           "stream shape, prompt token counts, /health, /tokenize, /metrics")
    model: str = _option(_text(), "aiperf-sim", "model name listed by /v1/models")
    osl: int = _option(_whole(1), 64, "output tokens when a request sends no max_tokens")
    # deterministic mode
    ttft_ms: float = _option(_MS, 50.0, "time to first token (ms)", mode="deterministic")
    itl_ms: float = _option(_MS, 10.0, "time between tokens (ms)", mode="deterministic")
    # realistic mode
    base_ttft_ms: float = _option(_MS, 20.0, "fixed part of prefill time (ms)",
                                  mode="realistic")
    prefill_ms_per_token: float = _option(_MS, 0.05, "prefill time per input token (ms)",
                                          mode="realistic")
    base_itl_ms: float = _option(_MS, 8.0, "time between tokens of a lone sequence (ms)",
                                 mode="realistic")
    itl_ms_per_seq: float = _option(
        _MS, 0.25, "extra time between tokens per decoding sequence (ms)", mode="realistic")
    max_batch: int = _option(_whole(1), 64,
                             "sequences decoded at once; the rest wait in a FIFO queue",
                             mode="realistic")
    jitter: float = _option(_number(0, 1), 0.05, "relative standard deviation of every delay",
                            mode="realistic")
    seed: int = _option(_whole(0), 0, "seed for jitter and fault injection")
    # faults
    error_rate: float = _option(_RATE, 0.0, "fraction of requests answered with HTTP 500")
    disconnect_rate: float = _option(_RATE, 0.0,
                                     "fraction of requests whose connection is closed midway")
    malformed_rate: float = _option(_RATE, 0.0,
                                    "fraction of requests that get one unparseable chunk or body")
    stall_ms: float = _option(_MS, 0.0, "sleep before the first byte of a response (ms)")
    stall_rate: float = _option(_RATE, 1.0, "fraction of requests that stall (when stall_ms > 0)")
    rate_limit_rate: float = _option(_RATE, 0.0,
                                     "fraction of requests answered 429 with a Retry-After header")
    unavailable_rate: float = _option(_RATE, 0.0,
                                      "fraction of requests answered 503 with a Retry-After header")
    retry_after_s: int = _option(_whole(0), 1, "Retry-After of the 429 and 503 answers (seconds)")
    # server quirks (None: the profile's value; see aiperf.sim.profiles.Quirks)
    keepalive_max: int | None = _option(
        _per_profile(_whole(0)), None,
        "responses per connection; the last says Connection: close (0: no limit)")
    idle_timeout_s: float | None = _option(
        _per_profile(_number(0)), None,
        "close a keep-alive connection idle this long, silently (seconds; 0: never)")
    connection_close: bool | None = _option(
        _per_profile(_switch()), None, "Connection: close on every response (true/false)")
    close_after_stream: bool | None = _option(
        _per_profile(_switch()), None,
        "close the connection after every streamed response, still advertising keep-alive "
        "(true/false)")
    close_on_error: bool | None = _option(
        _per_profile(_switch()), None,
        "Connection: close on every answer with status >= 400 (true/false)")
    ignore_stream: bool | None = _option(
        _per_profile(_switch()), None, "answer stream: true with one plain JSON body (true/false)")
    strict_model: bool | None = _option(
        _per_profile(_switch()), None,
        "404 for a request naming a model other than --model (true/false)")
    # content
    reasoning_tokens: int = _option(_whole(0), 0,
                                    "chat: reasoning_content tokens emitted before the answer")
    chars_per_token: int = _option(_whole(2, 32), 4,
                                   "characters per output token (a word and a space)")
    embedding_dim: int = _option(_whole(1, 65536), 32, "length of each embedding vector")
    # observability
    kv_cache_tokens: int = _option(
        _whole(1), 262144,
        "KV-cache capacity in tokens: /metrics reports the running sequences' prompt and "
        "generated tokens over it as cache usage")
    # prefix cache (aiperf.sim.prefix_cache) and sessions
    prefix_cache_tokens: int = _option(
        _whole(0), 262144,
        "prefix-cache capacity in tokens, least recently used blocks evicted first; a "
        "request's cached leading tokens skip their prefill time (realistic mode) and are "
        "reported as usage.prompt_tokens_details.cached_tokens (0: no prefix cache)")
    block_tokens: int = _option(_whole(1, 4096), 16,
                                "tokens per prefix-cache block; only whole blocks are reused")
    session_header: str = _option(_text(), "X-Session-ID",
                                  "request header whose value /sim/stats records as a "
                                  "request's session_id")
    gpus: int = _option(_whole(0, 64), 0,
                        "simulated GPUs served in DCGM-exporter format at /dcgm/metrics "
                        "(0: no such endpoint)")

    def __attrs_post_init__(self) -> None:
        faults = (self.error_rate + self.disconnect_rate + self.malformed_rate
                  + self.rate_limit_rate + self.unavailable_rate)
        if faults > 1 + 1e-9:
            # One draw decides a request's fault, so the rates share one unit interval.
            raise SimOptionsError([f"error_rate + disconnect_rate + malformed_rate + "
                                   f"rate_limit_rate + unavailable_rate must be <= 1, "
                                   f"got {faults:g}"])

    @property
    def deterministic(self) -> bool:
        """True in deterministic mode (fixed TTFT and ITL, no batching)."""
        return self.mode == "deterministic"

    @property
    def server(self) -> Profile:
        """The imitated server's profile."""
        return PROFILES[self.profile]

    @property
    def quirks(self) -> Quirks:
        """The connection quirks in force: the profile's, each option given overriding it."""
        given = {f.name: getattr(self, f.name) for f in attrs.fields(Quirks)
                 if getattr(self, f.name) is not None}
        return attrs.evolve(self.server.quirks, **given)

    def as_dict(self) -> dict[str, Any]:
        """The options as a plain JSON-ready mapping."""
        return attrs.asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SimOptions:
        """Options from ``{name: raw}`` (raw text or a value); dashes in names mean underscores.

        Raises :class:`SimOptionsError` listing every unknown name and bad value at once.
        """
        known = {f.name: f.metadata["kind"] for f in attrs.fields(cls)}
        problems: list[str] = []
        parsed: dict[str, Any] = {}
        for raw_name, raw in values.items():
            name = raw_name.replace("-", "_")
            kind = known.get(name)
            if kind is None:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"unknown option '{raw_name}'{hint}; known options: "
                                + ", ".join(known))
                continue
            try:
                parsed[name] = kind.parse(raw)
            except (TypeError, ValueError):
                problems.append(_bad_value(name, raw, kind))
        problems += _settle_mode(parsed, {f.name: f.metadata["mode"] for f in attrs.fields(cls)})
        if problems:
            raise SimOptionsError(problems)
        return cls(**parsed)  # only the cross-field check can still fail, as SimOptionsError


def _settle_mode(parsed: dict[str, Any], modes: Mapping[str, str | None]) -> list[str]:
    """Options of one mode select it when no mode was given (``ttft_ms=20`` alone means
    deterministic); options of another mode than the one given, or of both, are problems.
    Without this, ``sim://?ttft_ms=20`` would run the default realistic mode and measure
    a TTFT the user never asked for."""
    tied = {name: mode for name in parsed if (mode := modes.get(name))}
    if "mode" in parsed:
        return [f"{name} applies to {mode} mode only, but mode is {parsed['mode']}"
                for name, mode in tied.items() if mode != parsed["mode"]]
    implied = sorted(set(tied.values()))
    if len(implied) > 1:
        by_mode = "; ".join(f"{mode}: {', '.join(n for n, m in tied.items() if m == mode)}"
                            for mode in implied)
        return [f"options of both modes were given ({by_mode}); keep one mode's options, "
                f"or choose with mode=deterministic|realistic"]
    if implied:
        parsed["mode"] = implied[0]
    return []


@attrs.frozen
class OptionInfo:
    """One option as a command line shows it."""

    name: str
    python_type: type
    default: Any
    help: str
    describe: str


def option_infos() -> tuple[OptionInfo, ...]:
    """Every option, in declaration order (for ``aiperf sim serve`` flags and docs)."""
    return tuple(OptionInfo(f.name, f.metadata["kind"].python_type,
                            PER_PROFILE if f.default is None else f.default, f.metadata["help"],
                            f.metadata["kind"].describe)
                 for f in attrs.fields(SimOptions))


def parse_query(query: str) -> SimOptions:
    """Options from a URL query string such as ``ttft_ms=50&mode=deterministic``."""
    pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SimOptionsError([f"option '{name}' given more than once" for name in repeated])
    return SimOptions.from_mapping(dict(pairs))


def parse_sim_url(url: str) -> SimOptions:
    """Options from a ``sim://?ttft_ms=50&...`` URL (``sim://`` alone gives the defaults)."""
    try:
        parts = urlsplit(url)
    except ValueError as e:  # e.g. an unclosed "[": urllib's bare ValueError, made ours
        raise SimOptionsError([f"not a valid URL: {url!r} ({e})"]) from None
    if parts.scheme != "sim":
        raise SimOptionsError([f"not a simulator URL: {url!r} (expected sim://?option=value&...)"])
    if parts.netloc or parts.path not in ("", "/") or parts.fragment:
        raise SimOptionsError([f"a simulator URL takes options only as a query string, "
                               f"as in sim://?mode=deterministic; got {url!r}"])
    return parse_query(parts.query)
