"""Load the shipped decision tables (``rules/*.yaml``) and check them as they load.

The tables are data shipped inside the package; reading them is this module's only
job. A malformed rules file is a packaging bug, reported with its file and line.

strictyaml is slow (tens of milliseconds for the four tables, a large share of a CLI
start), so :func:`load_rulebook` keeps strictyaml's results for the shipped files in a
small on-disk cache (see :class:`ParseCache`): a content-addressed JSON file under
``$XDG_CACHE_HOME/aiperf``. strictyaml still does all the parsing and typing, once per
distinct set of files; checking the rules and building the :class:`Table` objects from
its results runs on every start either way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import strictyaml as sy

from aiperf import __version__
from aiperf._resources import cache_dir, rules_dir
from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.kinds import ScalarKind
from aiperf.config.predicates import PREDICATES
from aiperf.config.schema import type_plain
from aiperf.config.table import TAKES, Rule, RuleRef, Table, Take

_RULE = sy.Map(
    {
        "id": sy.Str(),
        sy.Optional("about"): sy.Str(),
        sy.Optional("level"): sy.Enum(["info", "warning"]),
        "when": sy.Enum(["always"]) | sy.MapPattern(sy.Str(), sy.Any()),
        sy.Optional("take"): sy.Enum(["given", "default"])
        | sy.Map({sy.Optional("value"): sy.Any(), sy.Optional("recipe_attribute"): sy.Str()}),
        "because": sy.Str(),
        sy.Optional("hint"): sy.Str(),
    }
)

_TABLE = sy.Map(
    {
        "table": sy.Str(),
        "role": sy.Enum(["field", "note", "constraint"]),
        "hit_policy": sy.Enum(["first", "collect"]),
        sy.Optional("applies_to"): sy.Enum(["*"]) | sy.Seq(sy.Str()),
        "rules": sy.Seq(_RULE),
        sy.Optional("examples"): sy.Seq(sy.Any()),
    }
)

#: Rules files that are not decision tables.
NOT_TABLES = frozenset({"recipes.yaml"})


def _display(path: Path) -> str:
    return f"rules/{path.name}"


def _fail(label: str, line: int | None, message: str) -> ConfigErrors:
    return ConfigErrors([ConfigError("bad-rules-file", message, label, line)])


def _line_of(lines: list[str], rule_id: str) -> int:
    """The line of ``- id: <rule_id>`` (``^\\s*-\\s*id:\\s*<rule_id>\\s*$``), else 1.

    Plain string tests rather than a regex per rule: compiling one for every rule cost
    more than the rest of building the tables.
    """
    for n, text in enumerate(lines, 1):
        rest = text.lstrip()
        if rest.startswith("-"):
            rest = rest[1:].lstrip()
            if rest.startswith("id:") and _spaced(rest[3:], rule_id):
                return n
    return 1


def _spaced(text: str, word: str) -> bool:
    """Whether ``text`` is ``word`` with only whitespace around it (``\\s*word\\s*``)."""
    k = 0
    while True:
        if text.startswith(word, k) and not text[k + len(word):].strip():
            return True
        if k < len(text) and text[k].isspace():
            k += 1
        else:
            return False


#: ``type_plain`` or a stand-in with its contract (see :meth:`ParseCache.typed`).
TypePlain = Callable[[Any, Any], Any]


def _typed(kind: Any, data: Any, label: str, line: int, typed: TypePlain) -> Any:
    try:
        return typed(kind, data)
    except ValueError as e:
        raise _fail(label, line, str(e)) from None


def _rule(data: dict[str, Any], table: str, label: str, lines: list[str],
          typed: TypePlain = type_plain) -> Rule:
    # Work on plain data: walking strictyaml nodes of a large document is slow.
    ref = RuleRef(table, data["id"], label, _line_of(lines, data["id"]))
    when: list[tuple[str, Any]] = []
    if isinstance(data["when"], dict):
        for name, arg in data["when"].items():
            if name not in PREDICATES:
                raise _fail(label, ref.line, f"unknown predicate '{name}' "
                            f"(known: {', '.join(sorted(PREDICATES))})")
            when.append((name, _typed(PREDICATES[name].arg, arg, label, ref.line, typed)))
    take = None
    if "take" in data:
        t = data["take"]
        if isinstance(t, str):
            take = Take(t)
        elif "value" in t:
            take = Take("value", _typed(ScalarKind(), t["value"], label, ref.line, typed))
        else:
            take = Take("recipe_attribute", t["recipe_attribute"])
        assert take.how in TAKES
    return Rule(
        ref=ref,
        when=tuple(when),
        because=data["because"],
        take=take,
        hint=data.get("hint"),
        level=data.get("level"),
        about=data.get("about"),
    )


def _without_examples(text: str) -> str:
    # The examples are for the test suite; skipping them halves strictyaml's work.
    at = re.search(r"^examples:", text, re.MULTILINE)
    return text if at is None else text[: at.start()]


def _table_text(path: Path, with_examples: bool) -> str:
    text = path.read_text(encoding="utf-8")
    return text if with_examples else _without_examples(text)


def _parse_table(text: str, label: str) -> dict[str, Any]:
    """strictyaml's reading of one rules file, as plain data (dicts, lists, strings)."""
    try:
        doc = sy.load(text, _TABLE, label=label)
    except sy.YAMLValidationError as e:
        raise _fail(label, e.problem_mark.line + 1, f"{e.context}: {e.problem}") from None
    return doc.data


def _build_table(data: dict[str, Any], text: str, label: str,
                 typed: TypePlain = type_plain) -> Table:
    """The checked :class:`Table` from the parsed data of the rules file ``text``."""
    name, role = data["table"], data["role"]
    lines = text.splitlines()
    rules = tuple(_rule(r, name, label, lines, typed) for r in data["rules"])
    for rule in rules:
        if role == "field" and rule.take is None:
            raise _fail(label, rule.ref.line, f"field rule '{rule.id}' has no take:")
    applies = data.get("applies_to")
    return Table(
        name=name,
        hit_policy=data["hit_policy"],
        role=role,
        applies_to=None if applies in (None, "*") else tuple(applies),
        rules=rules,
        file=label,
        examples=tuple(data.get("examples", [])),
    )


def load_table(path: Path, with_examples: bool = False) -> Table:
    """One rules file as a checked :class:`Table` (examples only when asked for)."""
    label = _display(path)
    text = _table_text(path, with_examples)
    return _build_table(_parse_table(text, label), text, label)


# --- the parse cache -----------------------------------------------------------------

#: Part of every cache key; bump it when the layout of a cache file changes.
CACHE_FORMAT = 1
#: How many cache files of one kind to keep (one per distinct set of files seen).
CACHE_KEEP = 8


@functools.cache
def _code_digest() -> str:
    """A hash of the modules whose code shapes what is cached: the schemas here, the
    scalar typing in schema.py and the kinds' validators and checks. Editing any of them
    in a checkout (no version bump) then misses the cache instead of reading stale data."""
    from aiperf.config import kinds, schema

    h = hashlib.sha256()
    for module in (__file__, schema.__file__, kinds.__file__):
        try:
            h.update(Path(module).read_bytes())
        except (OSError, TypeError):
            h.update(b"?")
    return h.hexdigest()


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
    """strictyaml's results for a few shipped data files, kept on disk between runs.

    One cache file per ``kind`` and content: it is named by a hash of ``kind``, every
    document's label and text, the schema they are parsed with, the aiperf and
    strictyaml versions, the code that types scalars and :data:`CACHE_FORMAT`, so any
    change to the files or to the way they are read is a miss. It holds two things:

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

    def __init__(self, kind: str, docs: Sequence[tuple[str, str]], schema: sy.Validator):
        self.kind = kind
        self.docs = list(docs)
        h = hashlib.sha256()
        for part in (str(CACHE_FORMAT), kind, __version__, getattr(sy, "__version__", "?"),
                     repr(schema), _code_digest(), *(p for doc in self.docs for p in doc)):
            raw = part.encode("utf-8")
            h.update(len(raw).to_bytes(8, "little"))
            h.update(raw)
        self.key = h.hexdigest()
        try:
            self.path: Path | None = cache_dir() / f"{kind}-{self.key}.json"
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

        ``parse`` must run strictyaml with the schema given to the constructor.
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


@attrs.frozen
class Rulebook:
    """Every decision table, split by role."""

    field_tables: tuple[Table, ...]
    note_tables: tuple[Table, ...]
    constraint_tables: tuple[Table, ...]

    @property
    def tables(self) -> tuple[Table, ...]:
        return self.field_tables + self.note_tables + self.constraint_tables

    def table_for(self, key: str) -> Table:
        """The field table that decides ``key``: a specific one, else the generic one."""
        generic = None
        for table in self.field_tables:
            if table.applies_to is None:
                generic = table
            elif key in table.applies_to:
                return table
        if generic is None:
            raise LookupError(f"no rules table decides {key}")
        return generic


def _table_paths(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("*.yaml")) if p.name not in NOT_TABLES]


def _rulebook(tables: Sequence[Table]) -> Rulebook:
    return Rulebook(
        field_tables=tuple(t for t in tables if t.role == "field"),
        note_tables=tuple(t for t in tables if t.role == "note"),
        constraint_tables=tuple(t for t in tables if t.role == "constraint"),
    )


def load_rulebook_from(folder: Path, with_examples: bool = False) -> Rulebook:
    """Every ``*.yaml`` table in ``folder``, in file-name order (never cached)."""
    return _rulebook([load_table(p, with_examples) for p in _table_paths(folder)])


@functools.cache
def load_rulebook() -> Rulebook:
    """The shipped rulebook (read once per process).

    The same tables as ``load_rulebook_from(rules_dir())``; strictyaml's results for
    the files come from the on-disk cache when it matches them (see :class:`ParseCache`).
    """
    docs = [(_display(p), _table_text(p, False)) for p in _table_paths(rules_dir())]
    cache = ParseCache("rulebook", docs, _TABLE)
    parsed = cache.parse(_parse_table)
    rulebook = _rulebook([_build_table(data, text, label, cache.typed)
                          for (label, text), data in zip(docs, parsed, strict=True)])
    cache.save()
    return rulebook
