"""Resolved -> text for people, YAML with origin comments, or JSON for tools.

Three contracts: the text is what a person reads; the YAML is a valid config file that
resolves back to the same values (secrets are left out and say so); the JSON is
described by ``schemas/explain.schema.json``. Secrets never appear in any of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from aiperf.config import fields as F
from aiperf.config.errors import ConfigError, did_you_mean
from aiperf.config.layer import Origin
from aiperf.config.plot_config import PLOT_FIELDS, PlotEnvelopeSpec
from aiperf.config.provenance import READ, Consideration, Note, Provenance, Resolved
from aiperf.config.recipe import Recipe
from aiperf.config.redaction import hidden, redact_url
from aiperf.config.resolve import explicitness_decides, show
from aiperf.config.rulebook import load_rulebook
from aiperf.config.schema import yaml_quote
from aiperf.config.sweep import Swept, swept_fields
from aiperf.config.table import RuleRef

EXPLAIN_JSON_VERSION = 1
#: What a run writes into its artifact directory so ``config explain DIR`` can explain it.
RUN_EXPLAIN_FILE = "explain.json"

#: What can be explained: a resolution now, or what a past run recorded (:class:`PastRun`).
Explained: TypeAlias = "Resolved | PastRun"


class UnknownKey(ValueError):
    """A KEY argument that names no field (with a did-you-mean hint)."""


def select(
    resolved: Explained, keys: Sequence[str], only_changed: bool = False
) -> list[Provenance]:
    """The provenance entries to show: every field, or those at/under ``keys``."""
    out: list[Provenance] = []
    for key in keys:
        hits = [p for k, p in resolved.provenance.items() if k == key or k.startswith(key + ".")]
        if not hits:
            hint = did_you_mean(key, resolved.provenance)
            raise UnknownKey(f"unknown key '{key}'" + (f"; {hint}" if hint else ""))
        out.extend(h for h in hits if h not in out)
    if not keys:
        out = list(resolved.provenance.values())
    if only_changed:
        # A swept field changes in every cell, even when its unswept value is the default.
        swept = swept_of(resolved)
        out = [p for p in out if p.changed or p.key in swept]
    return out


def shown(key: str, value: Any) -> Any:
    """``value`` as it may be shown: secrets become ``***``, envelopes their summary."""
    if value is None:
        return None
    value = hidden(key, value)
    if isinstance(value, PlotEnvelopeSpec):
        return {"source": value.source, "settings": dict(value.settings)}
    return value


def _text_value(key: str, value: Any) -> str:
    v = shown(key, value)
    if isinstance(value, PlotEnvelopeSpec):
        return f"file {value.source}" if value.source else "inline mapping"
    if isinstance(v, dict):
        return ", ".join(f"{k}={show(x)}" for k, x in v.items()) or "(empty)"
    if isinstance(v, list | tuple):
        return ", ".join(show(x) for x in v)
    return show(v)


def _consideration_line(key: str, c: Consideration) -> str:
    value = "" if c.value is None and c.status != "won" else _text_value(key, c.value)
    where = (f"  ({c.origin.describe()})"
             if c.origin and c.origin.scope in ("file", "envelope") else "")
    return f"    {c.label:<44} {c.status:<20} {value}{where}".rstrip()


def swept_of(resolved: Explained) -> Mapping[str, Swept]:
    """The fields a sweep varies: worked out for a resolution, as recorded for a past run."""
    if isinstance(resolved, PastRun):
        return resolved.swept
    return swept_fields(resolved)


def explain_one(resolved: Explained, p: Provenance, swept: Swept | None = None) -> str:
    """Everything about one field: value, rule, reason, sources considered, how to change it.

    A swept field leads with the values its cells run with; the rule and sources below
    then decide only its value outside the sweep, so they are labelled that way.
    """
    rule = f"rule {p.rule.id} ({p.rule.location()}, table {p.rule.table})"
    if swept is None:
        head = [f"{p.key} = {_text_value(p.key, p.value)}", f"  decided by   {rule}"]
    else:
        head = [f"{p.key} = {swept.describe()}",
                f"  unswept      {_text_value(p.key, p.value)} (the value outside the sweep), "
                f"decided by {rule}"]
    derived = bool(p.considered) and all(c.status == READ for c in p.considered)
    lines = [
        *head,
        f"  because      {p.because}",
        "  derived from (resolved values)" if derived
        else "  considered   (highest precedence first)",
    ]
    if derived:
        lines += [_consideration_line(c.label, c) for c in p.considered]
    else:
        if p.key in F.FIELDS_BY_KEY and not any(c.scope == "file" for c in p.considered):
            lines.append(f"    {'config files (-f)':<44} {'none given'}")
        lines += [_consideration_line(p.key, c) for c in p.considered]
    if swept is not None:
        lines.append(f"  to change    change the swept values ({swept.by})")
    elif p.hint:
        lines.append(f"  to change    {p.hint}")
    for note in resolved.notes_about(p.key):
        lines.append(f"  {note.level + ':':<12} {note.message}")
        if note.hint:
            lines.append(f"  {'':<12} {note.hint}")
    return "\n".join(lines)


def _origin_text(o: Origin) -> str:
    return o.describe()


def explain_text(resolved: Explained, keys: Sequence[str] = (), only_changed: bool = False) -> str:
    """The text format: full detail for named keys, one line per field otherwise."""
    chosen = select(resolved, keys, only_changed)
    swept = swept_of(resolved)
    if keys and len(chosen) <= 3:
        body = "\n\n".join(explain_one(resolved, p, swept.get(p.key)) for p in chosen)
    else:
        width = max((len(p.key) for p in chosen), default=10)
        body = "\n".join(_summary_line(p, swept.get(p.key), width) for p in chosen)
        if not chosen:
            body = "(nothing changed from the built-in defaults)"
    tail = []
    if resolved.recipe is not None:
        r = resolved.recipe
        tail.append(f"recipe: {r.name} ({r.source}) - {r.description}")
    shown_keys = {p.key for p in chosen}
    for note in resolved.notes:
        if keys and len(chosen) <= 3 and note.about in shown_keys:
            continue  # already printed under its field
        tail.append(f"{note.level}: {note.message}")
    for problem in resolved.problems:
        tail.append(f"error: {problem.render()}")
    return body + ("\n\n" + "\n".join(tail) if tail else "")


def _summary_line(p: Provenance, swept: Swept | None, width: int) -> str:
    """One field in the all-fields listing; a swept field shows its cells' values."""
    if swept is None:
        return (f"{p.key:<{width}}  {_text_value(p.key, p.value):<24}  "
                f"{_origin_text(p.origin)} [{p.rule.id}]")
    values = "swept: " + ", ".join(_text_value(p.key, v) for v in swept.values)
    return f"{p.key:<{width}}  {values:<24}  {swept.by} [sweep]"


# ---- YAML with origin comments ----


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # Escape references so that reading the file back yields the text, not the variable.
    return yaml_quote(str(value).replace("${", "$${"))


def _comment(p: Provenance, swept: Swept | None = None) -> str:
    if swept is not None:
        # The value stays (the file must resolve back to it) but is only the base: say
        # what the cells run with, so the file does not read as "concurrency: 1".
        values = ", ".join(_text_value(p.key, v) for v in swept.values)
        return _printable(f"  # {_origin_text(p.origin)} [{p.rule.id}]; only outside the "
                          f"sweep: the cells run {values} ({swept.by})")
    return _printable(f"  # {_origin_text(p.origin)} [{p.rule.id}]")


def _printable(comment: str) -> str:
    """A comment YAML can read back: control characters (which a value may hold, and YAML
    refuses even in comments) written as ``\\uXXXX``."""
    if comment.isprintable():
        return comment
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in comment)


def _emit_value(lines: list[str], indent: str, name: str, value: Any, comment: str) -> None:
    if isinstance(value, dict):
        if not value:
            lines.append(f"{indent}# {name}: (empty){comment[3:] and ' ' + comment.strip()}")
            return
        lines.append(f"{indent}{name}:{comment}")
        for k, v in value.items():
            _emit_value(lines, indent + "  ", yaml_quote(str(k)), v, "")
    elif isinstance(value, list | tuple):
        lines.append(f"{indent}{name}:{comment}")
        for item in value:
            if isinstance(item, dict):
                first = True
                for k, v in item.items():
                    prefix = indent + ("  - " if first else "    ")
                    if isinstance(v, dict):
                        lines.append(f"{prefix}{k}:")
                        for kk, vv in v.items():
                            _emit_value(lines, indent + "      ", yaml_quote(str(kk)), vv, "")
                    else:
                        lines.append(f"{prefix}{k}: {_yaml_scalar(v)}")
                    first = False
            else:
                lines.append(f"{indent}  - {_yaml_scalar(item)}")
    else:
        lines.append(f"{indent}{name}: {_yaml_scalar(value)}{comment}")


def _plot_lines(p: Provenance, comments: bool) -> list[str]:
    spec = p.value
    comment = _comment(p) if comments else ""
    if spec.source is not None:
        return [f"plot: {json.dumps(spec.source)}{comment}"]
    lines = [f"plot:{comment}"]
    order = [f.key for f in PLOT_FIELDS]
    for key in sorted(spec.settings, key=order.index):
        _emit_value(lines, "  ", key, spec.settings[key], "")
    if len(lines) == 1:
        # An empty inline envelope still implies auto-plot; keep it a mapping.
        lines.append(f"  theme: {_yaml_scalar(PLOT_FIELDS[0].default)}")
    return lines


def explain_yaml(resolved: Resolved, comments: bool = True, only_changed: bool = False) -> str:
    """A config file that resolves back to the same values, one origin comment per value.

    Unset values and secrets are written as comments, so the file stays loadable and no
    secret is ever printed.
    """
    lines: list[str] = []
    if comments:
        lines += [
            "# aiperf resolved configuration: every value with its origin and deciding rule.",
            "# Load it back with `aiperf config explain -f <this file>`.",
        ]
    chosen = {p.key for p in select(resolved, (), only_changed)}
    swept = swept_fields(resolved)
    explicit_only = explicitness_decides(load_rulebook())
    emitted_parents: set[tuple[str, ...]] = set()
    for f in F.FIELDS:
        p = resolved.provenance[f.key]
        if f.key not in chosen or f.key == "plot":
            continue  # plot: is a top-level block of its own, written last
        *parents, name = f.yaml_path
        present = p.value is not None and not f.secret and p.value != {}
        if f.derived:
            # Decided from the other values by a rule; a file cannot set it, so it is
            # written as a comment and resolves back to the same value.
            present = False
        elif f.key in explicit_only and not p.explicit:
            # Written as a value, the default would load back as the user's own choice
            # and change what a rule derives from it (the run directory).
            present = False
        elif f.key in swept and not p.explicit:
            # Written as a value, the unswept default would load back as the user's own
            # setting, which a recipe driving the field rejects; as a comment it resolves
            # back to the same default.
            present = False
        if not present and not comments:
            continue
        for depth in range(len(parents)):
            prefix = tuple(parents[: depth + 1])
            if prefix not in emitted_parents and present:
                lines.append("  " * depth + f"{prefix[-1]}:")
                emitted_parents.add(prefix)
        indent = "  " * len(parents)
        if present:
            value = hidden(f.key, p.value) if f.url else p.value
            _emit_value(lines, indent, name, value,
                        _comment(p, swept.get(f.key)) if comments else "")
        else:
            why = "redacted secret" if f.secret and p.value is not None else show(p.value)
            if p.value == {}:
                why = "(empty)"
            label = ".".join(f.yaml_path)
            lines.append(_printable(f"# {label}: {why}{_comment(p, swept.get(f.key))}"))
    plot = resolved.provenance["plot"]
    if plot.value is not None and "plot" in chosen:
        lines += _plot_lines(plot, comments)
    elif not emitted_parents:
        # Nothing but comments would not load back; one real value keeps it a config.
        p = resolved.provenance["benchmark.endpoint.url"]
        lines += ["benchmark:", "  endpoint:"]
        _emit_value(lines, "    ", "url", redact_url(p.value), _comment(p) if comments else "")
    if comments:
        for note in resolved.notes:
            lines.append(_printable(f"# {note.level}: {note.message}"))
    return "\n".join(lines) + "\n"


# ---- JSON ----


def _origin_json(o: Origin | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"scope": o.scope, "source": o.source, "line": o.line, "column": o.column,
            "text": o.describe()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _swept_json(key: str, swept: Swept | None) -> dict[str, Any] | None:
    if swept is None:
        return None
    return {"values": [_jsonable(shown(key, v)) for v in swept.values], "by": swept.by,
            "text": swept.describe()}


def explain_json(resolved: Explained, keys: Sequence[str] = (), only_changed: bool = False) -> str:
    """The JSON format (``schemas/explain.schema.json``). A swept field's ``swept`` gives
    the values its cells run with; its ``value`` is then only the value outside the sweep."""
    swept = swept_of(resolved)
    fields = [
        {
            "key": p.key,
            "value": _jsonable(shown(p.key, p.value)),
            # plot.single_run / plot.multi_run are derived, not fields: never secret.
            "secret": p.key in F.FIELDS_BY_KEY and F.field(p.key).secret,
            "origin": _origin_json(p.origin),
            "rule": {"table": p.rule.table, "id": p.rule.id, "file": p.rule.file,
                     "line": p.rule.line},
            "because": p.because,
            "hint": p.hint,
            "considered": [
                {"scope": c.scope, "label": c.label, "status": c.status,
                 "value": _jsonable(shown(p.key, c.value)), "origin": _origin_json(c.origin)}
                for c in p.considered
            ],
            "swept": _swept_json(p.key, swept.get(p.key)),
        }
        for p in select(resolved, keys, only_changed)
    ]
    doc = {
        "version": EXPLAIN_JSON_VERSION,
        "recipe": resolved.recipe.name if resolved.recipe else None,
        "recipe_detail": None if resolved.recipe is None else {
            "name": resolved.recipe.name, "source": resolved.recipe.source,
            "description": resolved.recipe.description,
            "auto_plot_default": resolved.recipe.auto_plot_default,
        },
        "fields": fields,
        "notes": [
            {"id": n.id, "level": n.level, "about": n.about, "message": n.message,
             "hint": n.hint, "rule": {"table": n.rule.table, "id": n.rule.id,
                                      "file": n.rule.file, "line": n.rule.line}}
            for n in resolved.notes
        ],
        "problems": [
            {"code": e.code, "message": e.message, "file": e.file, "line": e.line,
             "column": e.column, "key": e.key, "hint": e.hint}
            for e in resolved.problems
        ],
    }
    return json.dumps(doc, indent=2)


def redacted_values(resolved: Resolved) -> dict[str, Any]:
    """The resolved configuration as nested plain data, secrets shown as ``***``."""
    from aiperf.config.structure import nest

    return nest({p.key: _jsonable(shown(p.key, p.value)) for p in resolved.provenance.values()
                 if p.key in F.FIELDS_BY_KEY})  # not the plot selection derived from them


# ---- a past run, from the explain.json it wrote ----


@attrs.frozen
class PastRun:
    """What a run recorded about its configuration: enough to explain it again later."""

    provenance: Mapping[str, Provenance]
    notes: tuple[Note, ...]
    problems: tuple[ConfigError, ...]
    recipe: Recipe | None
    #: The fields the run's sweep varied (empty for a single run).
    swept: Mapping[str, Swept] = attrs.field(factory=dict)

    def notes_about(self, key: str) -> list[Note]:
        return [n for n in self.notes if n.about == key]


def _origin_from(data: Mapping[str, Any]) -> Origin:
    return Origin(data["scope"], data["source"], data["line"], data["column"])


def _rule_from(data: Mapping[str, Any]) -> RuleRef:
    return RuleRef(data["table"], data["id"], data["file"], data["line"])


def past_run(doc: Mapping[str, Any]) -> PastRun:
    """Rebuild what ``explain`` needs from an ``explain.json`` written by a run."""
    provenance = {
        f["key"]: Provenance(
            key=f["key"], value=f["value"], origin=_origin_from(f["origin"]),
            rule=_rule_from(f["rule"]), because=f["because"], hint=f["hint"],
            considered=tuple(
                Consideration(c["scope"], c["label"], c["status"], c["value"],
                              None if c["origin"] is None else _origin_from(c["origin"]))
                for c in f["considered"]
            ),
        )
        for f in doc["fields"]
    }
    notes = tuple(Note(n["id"], n["level"], n["about"], n["message"], n["hint"],
                       _rule_from(n["rule"])) for n in doc["notes"])
    problems = tuple(ConfigError(**e) for e in doc["problems"])
    detail = doc.get("recipe_detail")
    recipe = None if detail is None else Recipe(
        name=detail["name"], description=detail["description"],
        auto_plot_default=detail["auto_plot_default"], source=detail["source"])
    # ``swept`` is absent from files written before sweeps were recorded.
    swept = {
        f["key"]: Swept(f["key"], tuple(f["swept"]["values"]), f["swept"]["by"])
        for f in doc["fields"] if f.get("swept")
    }
    return PastRun(provenance, notes, problems, recipe, swept)


def render(
    resolved: Explained, fmt: str, keys: Iterable[str] = (), only_changed: bool = False
) -> str:
    """Dispatch on ``--format``."""
    keys = list(keys)
    if fmt == "json":
        return explain_json(resolved, keys, only_changed)
    if fmt == "yaml":
        if isinstance(resolved, PastRun):
            raise UnknownKey("--format yaml is not available for a past run; its "
                             "resolved_config.yaml is that file")
        select(resolved, keys)  # reject unknown keys the same way
        return explain_yaml(resolved, comments=True, only_changed=only_changed)
    return explain_text(resolved, keys, only_changed)
