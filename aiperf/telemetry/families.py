"""Which metric families of each inference server mean what, read from data.

One YAML file per server in ``telemetry/families/`` (vLLM, SGLang, TGI, llama.cpp,
TensorRT-LLM/Dynamo) maps our *roles* (``kv_cache_usage``, ``ttft_seconds``...) to that
server's family names, so supporting a new server or a renamed metric is a data change.
A role lists alternative names (servers rename metrics between versions); the first one
present in a scrape is used. Counter names may be written as exposed, with ``_total``:
the loader strips it, as the Prometheus parser does.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["FAMILIES_DIR", "ROLES", "Role", "ServerFamilies", "detect", "known_servers",
           "load_server", "role_family"]

FAMILIES_DIR = Path(__file__).with_name("families")

#: Every role a server file may map, and what it is.
ROLES: Mapping[str, str] = {
    "kv_cache_usage": "share of the KV cache in use (gauge; scale makes it 0..1)",
    "requests_running": "requests being processed (gauge)",
    "requests_waiting": "requests queued in the server (gauge)",
    "prefix_cache_hits": "prefix-cache hits, in tokens (counter)",
    "prefix_cache_queries": "prefix-cache lookups, in tokens (counter)",
    "prefix_cache_hit_rate": "prefix-cache hit rate (gauge; scale makes it 0..1)",
    "preemptions": "requests preempted (counter)",
    "prompt_tokens": "prompt tokens processed (counter, or a histogram of tokens per request)",
    "generation_tokens": "tokens generated (counter, or a histogram of tokens per request)",
    "ttft_seconds": "time to first token (histogram, seconds)",
    "itl_seconds": "time between output tokens (histogram, seconds)",
    "e2e_seconds": "request latency, end to end (histogram, seconds)",
}

TYPES = ("counter", "gauge", "histogram")


@attrs.frozen
class Role:
    """One role of one server: the family names that fill it (first present wins), the
    family type, the unit and the factor that turns a value into that unit."""

    name: str
    families: tuple[str, ...]
    type: str
    unit: str
    scale: float = 1.0


@attrs.frozen
class ServerFamilies:
    """A server's known families: its name, the prefixes of its family names and its
    roles."""

    server: str
    description: str
    prefixes: tuple[str, ...]
    roles: Mapping[str, Role]
    source: str


@functools.cache
def _schema() -> Any:
    """strictyaml's schema of a server file (built only when a file is parsed)."""
    import strictyaml as sy

    return sy.Map({
        "server": sy.Str(),
        "description": sy.Str(),
        "prefix": sy.Str(),
        sy.Optional("also_prefixes"): sy.Seq(sy.Str()),
        "roles": sy.MapPattern(sy.Enum(list(ROLES)), sy.Map({
            "families": sy.Seq(sy.Str()),
            "type": sy.Enum(list(TYPES)),
            "unit": sy.Str(),
            sy.Optional("scale"): sy.Float(),
        })),
    })


def _family_name(name: str, type_: str) -> str:
    """The name the parser gives a family: a counter loses its ``_total``."""
    return name.removesuffix("_total") if type_ == "counter" else name


def _parse(text: str, label: str) -> Any:
    """strictyaml's plain data of one server file; a ``ValueError`` names the file and
    line of a mistake."""
    import strictyaml as sy

    try:
        return sy.load(text, _schema(), label=label).data
    except sy.YAMLError as e:
        raise ValueError(f"{label}: {e}") from None


def _server(data: Any, source: str) -> ServerFamilies:
    roles = {
        name: Role(name, tuple(_family_name(f, spec["type"]) for f in spec["families"]),
                   spec["type"], spec["unit"], float(spec.get("scale", 1.0)))
        for name, spec in data["roles"].items()}
    return ServerFamilies(data["server"], data["description"],
                          (data["prefix"], *data.get("also_prefixes", [])), roles, source)


def load_server(path: Path) -> ServerFamilies:
    """Parse one server file; a ``ValueError`` names the file and line of a mistake."""
    return _server(_parse(path.read_text(encoding="utf-8"), str(path)), str(path))


@functools.cache
def known_servers() -> tuple[ServerFamilies, ...]:
    """Every server file shipped with aiperf, by file name (strictyaml's parse kept in
    the on-disk cache of shipped data files: it is most of a short run's reading)."""
    from aiperf.config.parse_cache import ParseCache

    paths = sorted(FAMILIES_DIR.glob("*.yaml"))
    cache = ParseCache("server-families",
                       [(str(p), p.read_text(encoding="utf-8")) for p in paths],
                       code=(__file__,))
    docs = cache.parse(_parse)
    cache.save()
    return tuple(_server(doc, str(p)) for doc, p in zip(docs, paths, strict=True))


def role_family(server: ServerFamilies, role: str, families: Collection[str]) -> str | None:
    """The family of ``families`` (names, or a mapping by name) that fills ``role`` for
    ``server``, or None (the server does not have the role, or this version exposes none
    of its names)."""
    spec = server.roles.get(role)
    if spec is None:
        return None
    return next((name for name in spec.families if name in families), None)


def detect(families: Collection[str]) -> ServerFamilies | None:
    """The known server whose families these are (names, or a mapping by name), or None.

    The server with the most roles present wins; a tie goes to the one with more
    families under its prefixes. A server with neither a role nor a prefixed family
    present is never chosen.
    """
    best: tuple[int, int] = (0, 0)
    found: ServerFamilies | None = None
    for server in known_servers():
        roles = sum(role_family(server, role, families) is not None for role in server.roles)
        prefixed = sum(name.startswith(server.prefixes) for name in families)
        if (roles, prefixed) > best:
            best, found = (roles, prefixed), server
    return found
