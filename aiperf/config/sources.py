"""Sources: read the user's YAML files, plot-config files and environment into Layers.

This is the only module that reads user input from disk or the environment. Every
value leaves here with its origin attached; every problem leaves here as a
:class:`ConfigError` with file, line, column and key, and all problems of all files
are raised together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiperf.config import fields as F
from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.interpolate import InterpolationError, has_reference, interpolate
from aiperf.config.kinds import SCALAR_KINDS, EnvelopeKind
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.plot_config import (
    ARTIFACT_DIR_PREFIX,
    PLOT_CONFIG_KEY,
    RECEIPT_PLACEHOLDER,
    PlotEnvelopeSpec,
    home_plot_config_path,
    plot_children,
    plot_kind_at,
)
from aiperf.config.schema import (
    Leaf,
    Node,
    NodeProblem,
    kind_name,
    root_node,
    type_node,
    type_text,
    walk,
)

if TYPE_CHECKING:
    import strictyaml as sy

    from aiperf.config.provenance import Resolved

MAX_FILE_BYTES = 10 * 1024 * 1024
#: Deeper than any real config; guards the recursive parser against hostile input.
MAX_INDENT = 200



def _describe_yaml_error(e: Exception, lines: list[str]) -> tuple[str, str, str | None]:
    """(code, message, hint) for a strictyaml/ruamel parse error, in our own words."""
    import strictyaml as sy

    problem = str(getattr(e, "problem", None) or getattr(e, "context", None) or e).strip()
    if isinstance(e, sy.exceptions.DuplicateKeysDisallowed):
        return ("duplicate-key", problem.replace("Duplicate key", "duplicate key"),
                "remove one of them; to override a value, use a later -f file")
    if isinstance(e, sy.exceptions.FlowMappingDisallowed):
        return ("flow-style", "flow style ({...} or [...]) is not allowed",
                "write one key or '- item' per line, or quote the text")
    if isinstance(e, sy.exceptions.AnchorTokenDisallowed):
        return ("anchor", "anchors (&name) and aliases (*name) are not allowed",
                "write the values out; aliases can blow a small file up into a huge one")
    if isinstance(e, sy.exceptions.TagTokenDisallowed):
        return ("tag", "type tags (!!type) are not allowed", "remove the tag; the schema "
                "decides types")
    if "'\\t'" in problem or "\t" in problem:
        mark = getattr(e, "problem_mark", None)
        line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        if mark is not None and not line[: mark.column].strip():
            return ("tab-indent", "tab character used for indentation",
                    "indent with spaces; YAML does not allow tabs")
        return ("tab", "tab character where YAML does not allow one",
                "replace it with spaces, or quote the value")
    return ("malformed-yaml", f"malformed YAML: {problem}", None)


def _problem(label: str, p: NodeProblem) -> ConfigError:
    return ConfigError(p.code, p.message, label, p.line, p.column, ".".join(p.path), p.hint)


def read_text(
    path: Path, label: str, what: str = "config file"
) -> tuple[str | None, list[ConfigError]]:
    """The UTF-8 text of ``path``, or the errors that stop it being read."""
    def err(code: str, message: str, hint: str | None = None,
            line: int | None = None) -> tuple[None, list[ConfigError]]:
        return None, [ConfigError(code, message, label, line, None, None, hint)]

    if not path.exists():
        return err("file-not-found", f"{what} not found", f"looked for {path.absolute()}")
    if path.is_dir():
        return err("not-a-file", f"{what} is a folder, not a file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return err("file-too-large",
                       f"{what} is {size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except PermissionError:
        return err("unreadable", f"cannot read {what}: permission denied")
    except OSError as e:
        return err("unreadable", f"cannot read {what}: {e.strerror or e}")
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return err("not-utf8", f"{what} is not UTF-8 text (byte 0x{raw[e.start]:02x})",
                   "save the file as UTF-8", line)


def parse_yaml(text: str, label: str) -> tuple[sy.YAML | None, list[ConfigError]]:
    """Parse ``text`` with strictyaml (no schema yet), keeping line numbers."""
    import strictyaml as sy

    def err(code: str, message: str, line: int | None = None, col: int | None = None,
            hint: str | None = None, key: str | None = None) -> tuple[None, list[ConfigError]]:
        return None, [ConfigError(code, message, label, line, col, key, hint)]

    # split("\n"), not splitlines(): the latter also splits on characters such as
    # U+001E that YAML refuses, and so would hide them from the check below.
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if len(line) - len(line.lstrip(" ")) > MAX_INDENT:
            return err("too-deep", "document is nested too deeply", n, None,
                       "a config needs a handful of levels; check the indentation")
        bad = _NOT_YAML.search(line)
        if bad:
            # strictyaml fails on these with an internal error, so find them first.
            return err("control-character",
                       f"control character U+{ord(bad.group()):04X} is not allowed in YAML",
                       n, bad.start() + 1, "remove it, or write it as an escape in a "
                       "double-quoted string (\\u0001)")
    try:
        doc = sy.load(text, sy.Any(), label=label)
    except RecursionError:
        return err("too-deep", "document is nested too deeply")
    except sy.ruamel.error.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        code, problem, hint = _describe_yaml_error(e, lines)
        at_line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        key = None
        if isinstance(e, sy.exceptions.DuplicateKeysDisallowed) and at_line is not None:
            key, col = _key_at(lines, at_line)
        return err(code, problem, at_line, col, hint, key)
    if not text.strip() or (doc.is_scalar() and not str(doc.data).strip()) or (
        doc.is_scalar() and str(doc.data).lstrip().startswith("#")
    ):
        return err("empty-file", "file is empty",
                   hint="a config needs at least a 'benchmark:' or 'plot:' section")
    if not doc.is_mapping():
        return err("not-a-mapping",
                   f"expected a mapping at the top level, found {kind_name(doc)}", 1, 1,
                   "start with 'benchmark:' (and optionally 'plot:')")
    return doc, []


#: Characters YAML does not allow in a document (tab and line breaks are fine).
_NOT_YAML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


def _key_at(lines: list[str], line: int) -> tuple[str | None, int | None]:
    """The dotted key path written at ``line`` and its column, from indentation alone."""
    def key_of(text: str) -> tuple[int, str] | None:
        body = text.lstrip(" ")
        if body[:1] in ("'", '"'):
            # A quoted key may hold a colon: the key ends at its closing quote.
            end = body.find(body[0], 1)
            if end < 0 or not body[end + 1 :].lstrip().startswith(":"):
                return None
            return len(text) - len(body), body[1:end]
        name, colon, _ = body.partition(":")
        if not colon or body.startswith(("#", "-")):
            return None
        return len(text) - len(body), name.strip()

    here = key_of(lines[line - 1]) if 0 < line <= len(lines) else None
    if here is None:
        return None, None
    indent, name = here
    path = [name]
    for text in reversed(lines[: line - 1]):
        found = key_of(text)
        if found is not None and found[0] < indent:
            indent = found[0]
            path.insert(0, found[1])
    return ".".join(path), here[0] + 1


def _kind_at(path: tuple[str, ...]) -> Any:
    f = F.field_at(path)
    return f.kind if f else None


def read_plot_config(
    doc: Node, label: str, environ: Mapping[str, str], prefix: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[ConfigError]]:
    """Typed settings of one plot-config mapping (inline, under ``prefix``, or a file)."""
    settings, _, errors = _read_plot_config(doc, label, environ, prefix)
    return settings, errors


Places = dict[str, tuple[str, int | None, int | None]]


def _read_plot_config(
    doc: Node, label: str, environ: Mapping[str, str], prefix: tuple[str, ...] = ()
) -> tuple[dict[str, Any], Places, list[ConfigError]]:
    """Typed settings, where each key was written, and the problems."""
    settings: dict[str, Any] = {}
    places: Places = {}
    errors: list[ConfigError] = []
    for item in walk(doc, plot_kind_at, plot_children, prefix, base=len(prefix)):
        if isinstance(item, NodeProblem):
            errors.append(_problem(label, item))
            continue
        value, problem = type_node(item, environ)
        if problem:
            errors.append(_problem(label, problem))
        else:
            settings[item.path[-1]] = value
            places[item.path[-1]] = (label, item.line, item.column)
    return settings, places, errors


def _only_comments(text: str) -> bool:
    """Whether ``text`` holds nothing but comments and blank lines (a plot config that
    leaves every key to the shipped defaults, as the one created on first use does)."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.split("\n"))


def _plot_config_text(text: str, label: str, environ: Mapping[str, str]
                      ) -> tuple[dict[str, Any], Places, list[ConfigError]]:
    """A whole plot-config file's settings; one of only comments sets nothing.

    A file without ``${...}`` references (whose reading then depends on nothing but its
    text) is read through the on-disk parse cache: the home plot config is read on every
    ``profile``, and strictyaml's import and parse were most of a short run's start."""
    if _only_comments(text):
        return {}, {}, []
    if has_reference(text):
        return _parse_plot_config(text, label, environ)
    from aiperf.config import plot_config
    from aiperf.config.parse_cache import ParseCache

    cache = ParseCache("plot-config", [(label, text)], code=(__file__, plot_config.__file__))
    try:
        [parsed] = cache.parse(_plot_config_as_json)
    except _Unreadable as bad:
        return {}, {}, bad.errors
    cache.save()
    places = {key: (where[0], where[1], where[2]) for key, where in parsed["places"].items()}
    return dict(parsed["settings"]), places, []


class _Unreadable(Exception):
    """A plot config with problems: nothing of it is cached."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__(errors)
        self.errors = errors


def _plot_config_as_json(text: str, label: str) -> dict[str, Any]:
    """A reference-free plot config's settings and places as JSON data, for the cache;
    :class:`_Unreadable` when it has problems."""
    settings, places, errors = _parse_plot_config(text, label, {})
    if errors:
        raise _Unreadable(errors)
    return {"settings": settings, "places": {key: list(where) for key, where in places.items()}}


def _parse_plot_config(text: str, label: str, environ: Mapping[str, str]
                       ) -> tuple[dict[str, Any], Places, list[ConfigError]]:
    doc, errors = parse_yaml(text, label)
    if errors:
        return {}, {}, errors
    assert doc is not None
    return _read_plot_config(root_node(doc), label, environ)


def _envelope(
    leaf: Leaf, label: str, base: Path, environ: Mapping[str, str]
) -> tuple[Value | None, list[ConfigError]]:
    """The ``plot:`` envelope: an inline mapping, or a path relative to the YAML file."""
    origin = Origin("envelope", label, leaf.line, leaf.column)
    node = leaf.node
    if node.is_mapping():
        settings, places, errors = _read_plot_config(node, label, environ, ("plot",))
        spec = PlotEnvelopeSpec(None, settings, places)
        return (None if errors else Value(spec, origin)), errors
    if node.is_scalar() and str(node.data).strip():
        raw = str(node.data).strip()
        if has_reference(raw):
            try:
                raw = interpolate(raw, environ)
            except InterpolationError as e:
                return None, [ConfigError("env-reference", e.message, label, leaf.line,
                                          leaf.column, "plot", e.hint)]
        target = Path(os.path.expanduser(raw))
        if not target.is_absolute():
            target = base / target
        plot_label = str(target)
        text, errors = read_text(target, plot_label, "plot config file")
        if errors:
            # Say which `plot:` line pointed here, so the user knows which file to fix.
            errors = [
                ConfigError(e.code, e.message, label, leaf.line, leaf.column, "plot",
                            f"'{raw}' resolves to {target} (relative to {base})")
                for e in errors
            ]
            return None, errors
        assert text is not None
        settings, places, errors = _plot_config_text(text, plot_label, environ)
        if errors:
            return None, errors
        return Value(PlotEnvelopeSpec(str(target), settings, places), origin), []
    return None, [ConfigError("wrong-type",
                              f"expected {EnvelopeKind.expected}, found {kind_name(node)}",
                              label, leaf.line, leaf.column, "plot")]


def _read_document(path: Path, label: str, what: str = "config file") -> sy.YAML:
    """A YAML file parsed with line numbers kept; ConfigErrors if unreadable or not YAML."""
    text, errors = read_text(path, label, what)
    if errors:
        raise ConfigErrors(errors)
    assert text is not None
    doc, errors = parse_yaml(text, label)
    if errors:
        raise ConfigErrors(errors)
    assert doc is not None
    return doc


def read_plot_config_file(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The typed settings of a plot-config file; ConfigErrors naming file and line if bad."""
    return dict(read_plot_config_spec(path, environ).settings)


def read_plot_config_spec(path: Path, environ: Mapping[str, str]) -> PlotEnvelopeSpec:
    """A plot-config file's settings and where each was written; ConfigErrors if bad.

    A file of only comments sets nothing: every key takes the shipped default.
    """
    label = str(path)
    text, errors = read_text(path, label, "plot config file")
    if not errors:
        assert text is not None
        settings, places, errors = _plot_config_text(text, label, environ)
    if errors:
        raise ConfigErrors(errors)
    return PlotEnvelopeSpec(label, settings, places)


def plot_config_layers(environ: Mapping[str, str], receipt: Path | None = None) -> list[Layer]:
    """What decides the plot config besides flags and ``-f`` files, lowest first.

    The user's home plot config when it exists (the ``home`` scope: below every ``-f``
    file and envelope; see :func:`home_plot_config_path` for where it is), and a run's
    materialized envelope ``receipt`` when given (the ``plot`` envelope as read back
    from that file).
    """
    layers = []
    home = home_plot_config_path(environ)
    if home.is_file():
        layers.append(Layer("home", f"{home} (your plot config)", {
            PLOT_CONFIG_KEY: Value(str(home), Origin("home", str(home)))}))
    if receipt is not None:
        spec = read_plot_config_spec(receipt, environ)
        # Shaped like a config file holding only ``plot:``, as envelopes always arrive.
        layers.append(Layer("file", str(receipt), {
            "plot": Value(spec, Origin("envelope", str(receipt)))}))
    return layers


def plot_config_in_use(resolved: Resolved, environ: Mapping[str, str]
                       ) -> tuple[PlotEnvelopeSpec | None, str, bool]:
    """The plot config the resolved ``benchmark.artifacts.plot_config`` chose, as read.

    (settings or None when it is read only at plot time: inside the artifact directory,
    or not there yet; a name for people; whether it is the user's home file). The
    shipped default sets nothing.
    """
    prov = resolved.provenance[PLOT_CONFIG_KEY]
    value = prov.value
    home = home_plot_config_path(environ)
    envelope = resolved.value("plot")
    # The envelope's own receipt path, set in a file (explain's YAML writes it back out),
    # still means the envelope: that is the file it will be written to.
    if prov.rule.id == "plot-config-envelope" or (
            envelope is not None and value == RECEIPT_PLACEHOLDER):
        return envelope, envelope.source or f"the plot: envelope at {prov.origin.describe()}", \
            False
    if value is None:
        return PlotEnvelopeSpec(None, {}), f"{home} (created on first plot)", False
    if value.startswith(ARTIFACT_DIR_PREFIX):
        return None, value, False
    path = Path(os.path.expanduser(value))
    if not path.exists():
        # Read when the run is plotted (a missing file is an error then, not now: a
        # run's saved configuration must load even after its plot config moved).
        return None, str(path), path == home
    return read_plot_config_spec(path, environ), str(path), path == home


def read_config_file(path: Path, environ: Mapping[str, str], label: str | None = None) -> Layer:
    """One ``-f`` file as a Layer; raises ConfigErrors listing every problem in it."""
    label = label or str(path)
    doc = _read_document(path, label)
    errors: list[ConfigError] = []
    values: dict[str, Value] = {}
    for item in walk(root_node(doc), _kind_at, F.children):
        if isinstance(item, NodeProblem):
            errors.append(_problem(label, item))
            continue
        key = ".".join(item.path)
        if isinstance(item.kind, EnvelopeKind):
            value, problems = _envelope(item, label, path.parent, environ)
            errors.extend(problems)
            if value is not None:
                values[key] = value
            continue
        typed, problem = type_node(item, environ)
        if problem:
            errors.append(_problem(label, problem))
            continue
        if (F.field(key).file_relative and isinstance(typed, str)
                and not typed.startswith(ARTIFACT_DIR_PREFIX)):
            typed = str(path.parent / os.path.expanduser(typed))
        values[key] = Value(typed, Origin("file", label, item.line, item.column))
    if errors:
        raise ConfigErrors(errors)
    return Layer("file", label, values)


def read_config_files(paths: Sequence[Path], environ: Mapping[str, str]) -> list[Layer]:
    """Every ``-f`` file as a Layer, in order; errors of all files are raised together."""
    layers: list[Layer] = []
    errors: list[ConfigError] = []
    for path in paths:
        try:
            layers.append(read_config_file(path, environ))
        except ConfigErrors as e:
            errors.extend(e.errors)
    if errors:
        raise ConfigErrors(errors)
    return layers


def environment_layer(environ: Mapping[str, str], keys: Iterable[str] | None = None) -> Layer:
    """The fields that environment variables set (only scalar fields have variables)."""
    values: dict[str, Value] = {}
    errors: list[ConfigError] = []
    for f in F.FIELDS:
        if f.env is None or f.env not in environ or (keys is not None and f.key not in keys):
            continue
        if not isinstance(f.kind, SCALAR_KINDS):
            continue
        try:
            typed = type_text(f.kind, environ[f.env])
        except ValueError as e:
            errors.append(ConfigError("wrong-type", str(e), f"environment variable {f.env}",
                                      key=f.key))
            continue
        values[f.key] = Value(typed, Origin("env", f.env))
    if errors:
        raise ConfigErrors(errors)
    return Layer("env", "environment", values)


def defaults_layer() -> Layer:
    """Every field's built-in default (None means "not set")."""
    origin = Origin("default", "built-in")
    return Layer("default", "built-in defaults",
                 {f.key: Value(f.default, origin) for f in F.FIELDS})
