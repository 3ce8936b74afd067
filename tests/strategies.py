"""Shared Hypothesis strategies: typed field values, layers and whole layer stacks.

Layers are built directly as :class:`aiperf.config.layer.Layer` objects, every value
with an :class:`~aiperf.config.layer.Origin` shaped like the one the real source would
attach (``file`` values carry the file label and a line, ``env`` values the variable,
``cli`` values the flag). Values are ones a real source could produce: each kind draws
inside its bounds, and scalars of free-typed mappings (``ScalarKind``) are only values
that strictyaml would type back to themselves.

Entry point: :func:`stacks` (defaults, 0-4 files, maybe env and cli, maybe a recipe). A
:class:`TextStyle` narrows the text drawn, for tests that must avoid a known bug.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from aiperf.config import fields as F
from aiperf.config.kinds import (
    SCALAR_KINDS,
    BoolKind,
    EnumKind,
    EnvelopeKind,
    FloatKind,
    IntKind,
    ListKind,
    MapKind,
    RecordKind,
    ScalarKind,
    StrKind,
    ThresholdKind,
)
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.plot_config import PLOT_FIELDS, PlotEnvelopeSpec
from aiperf.config.recipes import load_registry
from aiperf.config.resolve import ENVELOPE_KEY, RECIPE_KEY
from aiperf.config.rulebook import load_rulebook
from aiperf.config.schema import type_text
from aiperf.config.sources import defaults_layer

REGISTRY = load_registry().recipes
RULEBOOK = load_rulebook()
#: The recipes shipped in ``rules/recipes.yaml`` (plugins installed locally are left out).
BUILTIN_RECIPES: tuple[str, ...] = tuple(n for n, r in REGISTRY.items() if r.source == "built-in")

AUTO_PLOT = "benchmark.artifacts.auto_plot"

#: Fields drawn at random into layers; the recipe and the envelope have their own strategies.
GENERATED_FIELDS: tuple[F.Field, ...] = tuple(
    f for f in F.FIELDS if not isinstance(f.kind, EnvelopeKind) and f.key != RECIPE_KEY
)
#: Fields a command-line flag can set.
CLI_FIELDS = tuple(f for f in GENERATED_FIELDS if f.flag is not None)
#: Fields an environment variable can set (only scalar fields have variables).
ENV_FIELDS = tuple(
    f for f in GENERATED_FIELDS if f.env is not None and isinstance(f.kind, SCALAR_KINDS)
)
#: Fields the precedence properties care most about; drawn more often so layers collide.
HOT_KEYS = (
    AUTO_PLOT,
    "benchmark.artifacts.plot_required",
    "benchmark.endpoint.headers",
    "benchmark.endpoint.extra_inputs",
    "benchmark.slos",
    "benchmark.load.concurrency",
    "benchmark.endpoint.streaming",
    "benchmark.search.concurrency_max",
)

# --------------------------------------------------------------------------- values

#: Short names from a small pool, so map keys of different layers collide often.
_KEY_POOL = ("a", "b", "c", "x-y", "Authorization", "max_tokens")

#: Text that means something to YAML, strictyaml's typing or ``${VAR}`` interpolation.
TRICKY_TEXT = ("${HOME}", "$${", "a: b", "# c", "- x", "yes", "1", "null", "~", " pad ",
               "x\ny", '"q"', "\\")


@attrs.frozen
class TextStyle:
    """Which text the strategies draw.

    ``max_codepoint``: the highest code point (``0xFFFF`` keeps to the BMP).
    ``odd_keys``: whether mapping keys may be any text rather than plain names.
    """

    max_codepoint: int = 0x10FFFF
    odd_keys: bool = True

    def chars(self) -> st.SearchStrategy[str]:
        return st.characters(max_codepoint=self.max_codepoint, exclude_categories=("Cs",))


#: Anything (the default).
ANY_TEXT = TextStyle()
#: Inside the Basic Multilingual Plane (see the astral-character bug in the report).
BMP_TEXT = TextStyle(max_codepoint=0xFFFF)
#: BMP text, and mapping keys that are plain names (see the explain YAML key bug).
PLAIN_KEYS = TextStyle(max_codepoint=0xFFFF, odd_keys=False)


def map_keys(style: TextStyle = ANY_TEXT) -> st.SearchStrategy[str]:
    """Names for a free-form mapping: mostly a small shared pool, sometimes any text."""
    if not style.odd_keys:
        return st.sampled_from(_KEY_POOL) | st.from_regex(r"[a-z][a-z0-9_.-]{0,5}", fullmatch=True)
    return st.sampled_from(_KEY_POOL) | st.sampled_from(TRICKY_TEXT) | st.text(
        style.chars(), min_size=1, max_size=6)


def texts(allow_empty: bool = False, style: TextStyle = ANY_TEXT) -> st.SearchStrategy[str]:
    """Any text (non-empty unless ``allow_empty``), often text YAML treats specially."""
    return st.sampled_from(TRICKY_TEXT) | st.text(
        style.chars(), min_size=0 if allow_empty else 1, max_size=12)


def absolute_paths() -> st.SearchStrategy[str]:
    """Normalised absolute POSIX paths: a file-relative field keeps them unchanged."""
    segment = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=6)
    return st.lists(segment.filter(lambda s: s not in (".", "..")), min_size=1, max_size=3).map(
        lambda parts: "/" + "/".join(parts)
    )


def _types_back(value: Any) -> bool:
    """Whether strictyaml's any-scalar typing reads ``value``'s text back as ``value``."""
    text = value if isinstance(value, str) else repr(value).lower()
    try:
        typed = type_text(ScalarKind(), text)
    except Exception:  # "" escapes as a bare ValueError (an xfail test in the properties)
        return False
    return type(typed) is type(value) and typed == value


def any_scalars(style: TextStyle = ANY_TEXT) -> st.SearchStrategy[Any]:
    """Values a ``ScalarKind`` can hold after strictyaml typed them (bool, int, float, text).

    Text that strictyaml would type as something else (``"12"``, ``"yes"``) cannot come
    out of a source, so it is left out.
    """
    return st.one_of(
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        texts(style=style),
    ).filter(_types_back)


def floats_in(kind: FloatKind) -> st.SearchStrategy[float]:
    """Finite floats inside ``kind``'s bounds."""
    lo = kind.gt if kind.gt is not None else kind.ge
    hi = kind.lt if kind.lt is not None else kind.le
    return st.floats(
        min_value=lo, max_value=hi, exclude_min=kind.gt is not None,
        exclude_max=kind.lt is not None, allow_nan=False, allow_infinity=False,
    )


@st.composite
def thresholds(draw: st.DrawFn) -> str:
    """Valid threshold expressions (``METRIC[.STAT] OP LIMIT``) over every known metric."""
    from aiperf.config.metric_tags import METRIC_KINDS, SCALAR, stats_of

    tag = draw(st.sampled_from(sorted(METRIC_KINDS)))
    stat = draw(st.sampled_from(stats_of(tag)))
    written = "" if METRIC_KINDS[tag] == SCALAR and draw(st.booleans()) else f".{stat}"
    op = draw(st.sampled_from(["<", "<=", ">", ">=", "=="]))
    limit = draw(st.integers(0, 10_000) | st.sampled_from([0.5, 12.25, 99.9]))
    return f"{tag}{written}{op}{limit}"


def values_of(kind: Any, *, file_relative: bool = False,
              style: TextStyle = ANY_TEXT) -> st.SearchStrategy[Any]:
    """Typed values of ``kind``, as a source would hand them over."""
    if isinstance(kind, IntKind):
        lo = kind.min if kind.min is not None else -(10**9)
        return st.integers(lo, kind.max if kind.max is not None else lo + 10**9)
    if isinstance(kind, FloatKind):
        return floats_in(kind)
    if isinstance(kind, BoolKind):
        return st.booleans()
    if isinstance(kind, EnumKind):
        return st.sampled_from(kind.choices)
    if isinstance(kind, StrKind):
        return absolute_paths() if file_relative else texts(kind.allow_empty, style)
    if isinstance(kind, ScalarKind):
        return any_scalars(style)
    if isinstance(kind, ThresholdKind):
        return thresholds()
    if isinstance(kind, ListKind):
        return st.lists(values_of(kind.item, style=style), min_size=max(kind.min_len, 1),
                        max_size=3)
    if isinstance(kind, MapKind) and kind.per_key and kind.keys is not None:
        # Names with a kind of their own (a sweep's fields: whole numbers for a count)
        # get values of that kind, as the YAML reader demands.
        return st.lists(st.sampled_from(kind.keys), min_size=1, max_size=3,
                        unique=True).flatmap(lambda names: st.fixed_dictionaries({
                            name: values_of(kind.value_for(name), style=style)
                            for name in names}))
    if isinstance(kind, MapKind):
        names = st.sampled_from(kind.keys) if kind.keys is not None else map_keys(style)
        return st.dictionaries(names, values_of(kind.value, style=style), min_size=1,
                               max_size=3)
    if isinstance(kind, RecordKind):
        # Required members always; an empty ``values`` mapping cannot be written in YAML.
        members = dict(kind.members)
        return st.fixed_dictionaries({
            name: (st.dictionaries(
                       st.sampled_from(members[name].keys) if members[name].keys is not None
                       else map_keys(style),
                       values_of(members[name].value, style=style), min_size=1, max_size=2)
                   if isinstance(members[name], MapKind)
                   else values_of(members[name], style=style))
            for name in kind.required
        })
    raise TypeError(f"no strategy for {kind!r}")


def field_value(f: F.Field, style: TextStyle = ANY_TEXT) -> st.SearchStrategy[Any]:
    """A typed value for field ``f``."""
    return values_of(f.kind, file_relative=f.file_relative, style=style)


def plot_settings(style: TextStyle = ANY_TEXT) -> st.SearchStrategy[dict[str, Any]]:
    """The keys one ``plot:`` envelope sets: often none (``PlotEnvelopeSpec(None, {})``, as
    the rules examples' ``plot: inline``), else a few valid plot-config settings."""
    by_key = {p.key: values_of(p.kind, style=style) for p in PLOT_FIELDS}
    some = st.lists(st.sampled_from(sorted(by_key)), unique=True, min_size=1, max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: by_key[k] for k in keys})
    )
    return st.just({}) | some


# --------------------------------------------------------------------------- layers

def _subset(fields: Sequence[F.Field], max_size: int) -> st.SearchStrategy[list[F.Field]]:
    """Up to ``max_size`` distinct fields, half the draws from :data:`HOT_KEYS`."""
    pick = st.sampled_from(list(fields))
    hot = [f for f in fields if f.key in HOT_KEYS]
    if hot:
        pick = st.sampled_from(hot) | pick
    return st.lists(pick, unique_by=lambda f: f.key, max_size=max_size)


@st.composite
def _values(draw: st.DrawFn, fields: Sequence[F.Field], origin: Callable[[F.Field, int], Origin],
            style: TextStyle, max_size: int = 8) -> dict[str, Value]:
    chosen = draw(_subset(fields, max_size))
    return {f.key: Value(draw(field_value(f, style)), origin(f, i))
            for i, f in enumerate(chosen)}


def file_origin(label: str) -> Callable[[F.Field, int], Origin]:
    """Origins of the n-th value of a file: one line per value, after a header line."""
    return lambda f, i: Origin("file", label, 2 + 3 * i, 3 + 2 * len(f.yaml_path))


def cli_origin(f: F.Field, _: int = 0) -> Origin:
    assert f.flag is not None
    return Origin("cli", f.flag)


def env_origin(f: F.Field, _: int = 0) -> Origin:
    assert f.env is not None
    return Origin("env", f.env)


def envelopes(label: str, line: int = 1,
              style: TextStyle = ANY_TEXT) -> st.SearchStrategy[Value]:
    """A ``plot:`` envelope value written inline in file ``label``."""
    return plot_settings(style).map(
        lambda s: Value(PlotEnvelopeSpec(None, s), Origin("envelope", label, line, 1))
    )


@st.composite
def file_layers(draw: st.DrawFn, index: int, style: TextStyle = ANY_TEXT) -> Layer:
    """The n-th ``-f`` file: labelled ``f{n}.yaml``, a few fields, maybe a ``plot:`` envelope."""
    label = f"f{index}.yaml"
    values = draw(_values(GENERATED_FIELDS, file_origin(label), style))
    if draw(st.booleans()):
        values[ENVELOPE_KEY] = draw(envelopes(label, line=1, style=style))
    return Layer("file", label, values)


@st.composite
def env_layers(draw: st.DrawFn, style: TextStyle = ANY_TEXT) -> Layer:
    """The environment layer: scalar fields that have a variable."""
    return Layer("env", "environment", draw(_values(ENV_FIELDS, env_origin, style)))


@st.composite
def cli_layers(draw: st.DrawFn, style: TextStyle = ANY_TEXT) -> Layer:
    """The command-line layer: fields that have a flag."""
    return Layer("cli", "command line", draw(_values(CLI_FIELDS, cli_origin, style)))


def recipe_value(layer: Layer, name: str) -> Value:
    """``benchmark.search.recipe: name`` as ``layer`` would give it."""
    f = F.field(RECIPE_KEY)
    if layer.scope == "cli":
        origin = cli_origin(f)
    elif layer.scope == "env":
        origin = env_origin(f)
    else:
        origin = Origin("file", layer.label, 1000, 5)
    return Value(name, origin)


def with_value(layer: Layer, key: str, value: Value) -> Layer:
    return attrs.evolve(layer, values={**layer.values, key: value})


@attrs.frozen(repr=False)
class Stack:
    """The layers of one resolution: defaults, files in order, environment, command line."""

    defaults: Layer | None
    files: tuple[Layer, ...]
    env: Layer | None
    cli: Layer | None

    def layers(self) -> list[Layer]:
        """Every layer, lowest precedence first."""
        return [x for x in (self.defaults, *self.files, self.env, self.cli) if x is not None]

    def user_layers(self) -> list[Layer]:
        """The layers the user wrote (everything but the defaults)."""
        return [x for x in (*self.files, self.env, self.cli) if x is not None]

    def without(self, layer: Layer) -> Stack:
        """This stack with ``layer`` (compared by identity) left out."""
        return Stack(
            None if self.defaults is layer else self.defaults,
            tuple(f for f in self.files if f is not layer),
            None if self.env is layer else self.env,
            None if self.cli is layer else self.cli,
        )

    def replace(self, old: Layer, new: Layer) -> Stack:
        """This stack with ``old`` (compared by identity) replaced by ``new``."""
        def swap(x: Layer | None) -> Layer | None:
            return new if x is old else x
        return Stack(swap(self.defaults), tuple(swap(f) for f in self.files),  # type: ignore[misc]
                     swap(self.env), swap(self.cli))

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers())

    def __repr__(self) -> str:
        def short(layer: Layer | None) -> str:
            if layer is None:
                return "None"
            values = ", ".join(f"{k!r}: Value({v.value!r}, {v.origin!r})"
                               for k, v in layer.values.items())
            return f"Layer({layer.scope!r}, {layer.label!r}, {{{values}}})"
        defaults = "defaults_layer()" if self.defaults is not None else "None"
        files = "".join(f"\n    {short(f)}," for f in self.files)
        return (f"Stack(defaults={defaults},\n  files=({files}),\n  env={short(self.env)},"
                f"\n  cli={short(self.cli)})")

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # Hypothesis' failure printout
        p.text(repr(self))


@st.composite
def stacks(draw: st.DrawFn, max_files: int = 4, recipes: bool = True,
           text: TextStyle = ANY_TEXT) -> Stack:
    """0-4 files, maybe an environment and a command line, maybe a recipe selection.

    The recipe (one of the built-in names) is chosen in no layer, in one layer, or
    independently in several layers (cli, env or any file), so that layers can
    disagree about it.
    """
    n = draw(st.integers(0, max_files))
    files = [draw(file_layers(i, text)) for i in range(n)]
    env = draw(st.none() | env_layers(text))
    cli = draw(st.none() | cli_layers(text))
    stack = Stack(defaults_layer(), tuple(files), env, cli)
    user = stack.user_layers()
    mode = draw(st.sampled_from(("none", "one", "many"))) if recipes and user else "none"
    if mode == "one":
        chosen = [draw(st.sampled_from(user))]
    elif mode == "many":
        chosen = [layer for layer in user if draw(st.booleans())]
    else:
        chosen = []
    for layer in chosen:
        name = draw(st.sampled_from(BUILTIN_RECIPES))
        stack = stack.replace(layer, with_value(layer, RECIPE_KEY, recipe_value(layer, name)))
    return stack
