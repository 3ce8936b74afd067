"""A content-addressed on-disk cache of strictyaml's results for data files read on every
start: the shipped ones, and the user's home plot config.

strictyaml is slow, and the rules tables, the recipe registry and the home plot config
are read on every CLI start. The cache keeps what strictyaml produced (plain data) under
``$XDG_CACHE_HOME/aiperf``, keyed by the files' bytes and the code that reads them, so
strictyaml still does all parsing and typing once per distinct set of files. Any
failure to read or write it is a miss, never an error. ``AIPERF_NO_CACHE=1`` turns it
off: nothing is read from or written to the folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiperf import __version__
from aiperf._resources import cache_dir
from aiperf.config.schema import type_plain

#: Part of every cache key; bump it when the layout of a cache file changes.
CACHE_FORMAT = 1
#: How many cache files of one kind to keep (one per distinct set of files seen).
CACHE_KEEP = 8
#: Set to anything but empty or ``0`` to turn the cache off.
NO_CACHE_ENV = "AIPERF_NO_CACHE"


def cache_disabled() -> bool:
    """Whether ``AIPERF_NO_CACHE`` turns the on-disk cache off."""
    return os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0")


@functools.cache
def _code_digest() -> str:
    """A hash of the modules whose code shapes what is cached: the readers' schemas, the
    scalar typing in schema.py and the kinds' validators and checks. Editing any of them
    in a checkout (no version bump) then misses the cache instead of reading stale data."""
    from aiperf.config import kinds, recipes, rulebook, schema

    h = hashlib.sha256()
    for module in (__file__, schema.__file__, kinds.__file__, rulebook.__file__,
                   recipes.__file__):
        try:
            h.update(Path(module).read_bytes())
        except (OSError, TypeError):
            h.update(b"?")
    return h.hexdigest()


@functools.cache
def _file_digest(path: str) -> str:
    """A hash of one more reader's source (a module outside config that parses its own
    shipped files), so editing it misses the cache too."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "?"


@functools.cache
def _strictyaml_release() -> str:
    """Which strictyaml is installed, without importing it (that costs a start ~60 ms):
    the name of its dist-info folder, which carries the release. strictyaml's own
    ``__version__`` cannot serve, as some releases ship a stale one."""
    import importlib.util

    spec = importlib.util.find_spec("strictyaml")
    if spec is None or spec.origin is None:
        return "?"
    site = Path(spec.origin).parent.parent
    return ",".join(sorted(p.name for p in site.glob("strictyaml-*.dist-info"))) or "?"


def _same_json(a: Any, b: Any) -> bool:
    """Whether ``b`` is ``a`` exactly, types included: only data that survives a JSON
    round trip unchanged (no tuples, no NaN) may be served from the cache."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same_json, a, b))
    return a == b


class ParseCache:
    """strictyaml's results for a few data files (see the module), kept on disk between runs.

    One cache file per ``kind`` and content: it is named by a hash of ``kind``, every
    document's label and text, the aiperf and strictyaml releases, the code that
    parses them (schemas included; ``code`` names any reader module outside config)
    and types scalars and :data:`CACHE_FORMAT`, so any change to the files or to the
    way they are read is a miss. It holds two things:

    * :meth:`parse`: each document's parse with the schema (plain dicts, lists, strings
      and booleans), and
    * :meth:`typed`: the results of ``type_plain(kind, data)`` calls (strictyaml typing
      scalars such as predicate arguments), by the kind's repr and the data.

    Only what strictyaml produced is stored; every check and object built from it runs
    on every start. A missing, damaged or unwritable cache is silently a miss: the
    documents are parsed as without a cache, and a parse error is raised exactly as
    without one (nothing is stored then). :meth:`save` writes the file atomically (a
    temp file renamed into place), so processes writing it at once cannot corrupt it.
    """

    def __init__(self, kind: str, docs: Sequence[tuple[str, str]],
                 code: Sequence[str] = ()):
        self.kind = kind
        self.docs = list(docs)
        h = hashlib.sha256()
        for part in (str(CACHE_FORMAT), kind, __version__, _strictyaml_release(),
                     _code_digest(), *map(_file_digest, code),
                     *(p for doc in self.docs for p in doc)):
            raw = part.encode("utf-8")
            h.update(len(raw).to_bytes(8, "little"))
            h.update(raw)
        self.key = h.hexdigest()
        try:
            self.path: Path | None = (None if cache_disabled()
                                      else cache_dir() / f"{kind}-{self.key}.json")
        except Exception:  # e.g. no home folder to hold ~/.cache
            self.path = None
        stored = self._read()
        self.hit = stored is not None
        self._docs: list[Any] | None = stored["docs"] if stored else None
        self._typed: dict[str, str] = stored["typed"] if stored else {}
        self._dirty = False

    def _read(self) -> dict[str, Any] | None:
        """The stored entry, or None if missing or damaged.

        The file is the hex SHA-256 of the body, a newline, and the body: a JSON object
        holding the key, the documents and the typed values. Anything that does not check
        out is a miss.
        """
        if self.path is None:
            return None
        try:
            digest, _, body = self.path.read_bytes().partition(b"\n")
            if hashlib.sha256(body).hexdigest().encode("ascii") != digest:
                return None
            obj = json.loads(body)
            docs, typed = obj["docs"], obj["typed"]
            if (obj["key"] != self.key or not isinstance(docs, list)
                    or len(docs) != len(self.docs) or not isinstance(typed, dict)
                    or not all(isinstance(v, str) for v in typed.values())):
                return None
            return {"docs": docs, "typed": typed}
        except Exception:  # unreadable, not JSON, wrong shape: parse instead
            return None

    def parse(self, parse: Callable[[str, str], Any]) -> list[Any]:
        """``[parse(text, label) for label, text in docs]``, from the cache if it has it.

        ``parse`` must be the reader whose module :func:`_code_digest` hashes.
        """
        if self._docs is None:
            self._docs = [parse(text, label) for label, text in self.docs]
            self._dirty = True
        return self._docs

    def typed(self, kind: Any, data: Any) -> Any:
        """``type_plain(kind, data)``, from the cache if it has it (same ValueError)."""
        try:
            memo = repr(kind) + "\n" + json.dumps(data)
        except (TypeError, ValueError):
            return type_plain(kind, data)
        if memo in self._typed:
            return json.loads(self._typed[memo])
        value = type_plain(kind, data)
        text = json.dumps(value, ensure_ascii=False)
        if _same_json(value, json.loads(text)):
            self._typed[memo] = text
            self._dirty = True
        return value

    def save(self) -> None:
        """Store what was parsed or typed on a miss; never raises."""
        if not self._dirty or self.path is None or self._docs is None:
            return
        import tempfile

        folder, tmp = self.path.parent, None
        try:
            if not _same_json(self._docs, json.loads(json.dumps(self._docs))):
                return  # something JSON cannot carry exactly: keep parsing instead
            body = json.dumps({"key": self.key, "docs": self._docs, "typed": self._typed},
                              ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.kind}-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
            os.replace(tmp, self.path)
            tmp = None
            self._dirty = False
            _prune(folder, self.kind)
        except Exception:  # read-only or full disk, a file where the folder should be...
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _prune(folder: Path, kind: str) -> None:
    """Keep the newest CACHE_KEEP entries of ``kind``; drop temp files that a killed
    process left behind more than an hour ago."""
    import time

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    entries = sorted(folder.glob(f"{kind}-*.json"), key=mtime, reverse=True)
    stale = [p for p in folder.glob(f".{kind}-*.tmp") if mtime(p) < time.time() - 3600]
    for p in entries[CACHE_KEEP:] + stale:
        try:
            p.unlink()
        except OSError:
            pass
