"""Named derivations: values a rule computes from other resolved values.

A field row may say ``take: {derive: NAME}``; the engine then calls the derivation
``NAME`` with the values resolved so far (and the active recipe) and records what it
returns. A derivation is a pure function: it reads only the fields it declares in
``reads`` (the engine decides those first), and it returns the value together with the
words its rule's ``because`` template may use, so ``config explain`` can say what named
the value. Adding a derivation means adding it here; rules files are checked against
this registry when they load.

The run directory is the first user: ``artifacts/<model>-concurrency<N>`` and the names
of sweep and recipe base directories are decided here, never by the runner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

import attrs

from aiperf.config.recipe import Recipe
from aiperf.config.sweep import short_name

__all__ = ["DERIVATIONS", "Derivation", "Derived", "default_run_dir_name", "model_basename"]

MODEL = "benchmark.endpoint.model"
CONCURRENCY = "benchmark.load.concurrency"
REQUEST_RATE = "benchmark.load.request_rate"
ARTIFACTS_DIR = "benchmark.artifacts.dir"
SWEEP_PARAMETERS = "benchmark.sweep.parameters"
RECIPE = "benchmark.search.recipe"

#: Characters that are awkward in a directory name on some platform or in a shell.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@attrs.frozen
class Derived:
    """A derivation's result: the value, and the words that say what named it."""

    value: Any
    words: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Derivation:
    """A named, pure function of resolved values."""

    name: str
    #: The fields it reads (decided before it runs).
    reads: tuple[str, ...]
    #: The placeholders its result fills in for the ``because`` template.
    words: tuple[str, ...]
    compute: Callable[[Mapping[str, Any], Recipe | None], Derived]
    doc: str


def model_basename(model: str) -> str:
    """The last path component of a model name: ``meta-llama/Llama-3.1-8B`` -> ``Llama-3.1-8B``.

    Both ``/`` and ``\\`` separate components, trailing separators are ignored, and
    characters unsafe in a directory name become ``_``. An empty result becomes ``model``.
    Unlike the reference (``meta-llama_Llama-3.1-8B-openai-chat-concurrency4``) only the
    last component is kept: it is what users recognise, and a local model path such as
    ``/models/llama/`` would otherwise turn into a long, odd directory name.
    """
    parts = [p for p in re.split(r"[/\\]+", model.strip()) if p]
    name = _UNSAFE.sub("_", parts[-1]) if parts else ""
    # "." and ".." are path components, not names.
    return name if name.strip(".") else "model"


def default_run_dir_name(model: str, concurrency: int | None, request_rate: float | None) -> str:
    """The default run directory name (without the ``artifacts/`` base).

    >>> default_run_dir_name("meta-llama/Llama-3.1-8B", 4, None)
    'Llama-3.1-8B-concurrency4'
    >>> default_run_dir_name("gpt2", None, 5)
    'gpt2-request_rate5.0'
    >>> default_run_dir_name("gpt2", 8, 5.0)
    'gpt2-concurrency8-request_rate5.0'
    """
    parts = [model_basename(model)]
    if concurrency is not None:
        parts.append(f"concurrency{concurrency}")
    if request_rate is not None:
        # str(float) is the reference's spelling: 5 -> "5.0", 0.5 -> "0.5".
        parts.append(f"request_rate{float(request_rate)}")
    return "-".join(parts)


def _join(base: str, name: str) -> str:
    """``base/name`` spelt the way ``Path(base) / name`` prints it."""
    return str(PurePath(base) / name)


def _model(values: Mapping[str, Any]) -> str:
    return model_basename(values.get(MODEL) or "model")


def _artifact_dir(values: Mapping[str, Any], recipe: Recipe | None) -> Derived:
    return Derived(values[ARTIFACTS_DIR])


def _single_run_dir(values: Mapping[str, Any], recipe: Recipe | None) -> Derived:
    concurrency, rate = values.get(CONCURRENCY), values.get(REQUEST_RATE)
    name = default_run_dir_name(values.get(MODEL) or "model", concurrency, rate)
    load = [f"concurrency {concurrency}"] if concurrency is not None else []
    if rate is not None:
        load.append(f"request rate {float(rate)}")
    named_by = f"the model {_model(values)}" + "".join(f" and {part}" for part in load)
    return Derived(_join(values[ARTIFACTS_DIR], name), {"named_by": named_by})


def _recipe_dir(values: Mapping[str, Any], recipe: Recipe | None) -> Derived:
    name = values[RECIPE]
    return Derived(_join(values[ARTIFACTS_DIR], f"{_model(values)}-{name}"),
                   {"named_by": f"the model {_model(values)} and the recipe {name}"})


def _sweep_dir(values: Mapping[str, Any], recipe: Recipe | None) -> Derived:
    varied = sorted({short_name(key) for key in values.get(SWEEP_PARAMETERS) or {}})
    what = "-".join(varied)
    return Derived(_join(values[ARTIFACTS_DIR], f"{_model(values)}-sweep-{what}"),
                   {"named_by": f"the model {_model(values)} and the swept "
                                f"{', '.join(varied)}"})


def _scenarios_dir(values: Mapping[str, Any], recipe: Recipe | None) -> Derived:
    return Derived(_join(values[ARTIFACTS_DIR], f"{_model(values)}-sweep-scenarios"),
                   {"named_by": f"the model {_model(values)} and the sweep's scenarios"})


DERIVATIONS: Mapping[str, Derivation] = {
    d.name: d
    for d in (
        Derivation("artifact-dir", (ARTIFACTS_DIR,), (), _artifact_dir,
                   "benchmark.artifacts.dir as it is"),
        Derivation("single-run-dir", (ARTIFACTS_DIR, MODEL, CONCURRENCY, REQUEST_RATE),
                   ("named_by",), _single_run_dir,
                   "<artifacts.dir>/<model>-concurrency<N>[-request_rate<R>]"),
        Derivation("recipe-run-dir", (ARTIFACTS_DIR, MODEL, RECIPE), ("named_by",),
                   _recipe_dir, "<artifacts.dir>/<model>-<recipe>"),
        Derivation("sweep-run-dir", (ARTIFACTS_DIR, MODEL, SWEEP_PARAMETERS), ("named_by",),
                   _sweep_dir, "<artifacts.dir>/<model>-sweep-<swept fields>"),
        Derivation("scenarios-run-dir", (ARTIFACTS_DIR, MODEL), ("named_by",),
                   _scenarios_dir, "<artifacts.dir>/<model>-sweep-scenarios"),
    )
}
