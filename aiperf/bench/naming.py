"""The default name of a run's artifact directory, used when ``artifacts.dir`` was not set.

``<model basename>-concurrency<N>``, ``<model basename>-request_rate<R>`` or both
(``-concurrency<N>-request_rate<R>``), with the rate written the way the reference tool
writes it (``request_rate5.0``). The caller joins the name onto the artifacts base
directory (``artifacts`` by default) and decides whether the default applies at all.

Unlike the reference (``meta-llama_Llama-3.1-8B-openai-chat-concurrency4``) we keep only
the last path component of the model name: it is what users recognise, and a local model
path such as ``/models/llama/`` would otherwise turn into a long, odd directory name.
"""

from __future__ import annotations

import re

__all__ = ["default_run_dir_name", "model_basename"]

#: Characters that are awkward in a directory name on some platform or in a shell.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def model_basename(model: str) -> str:
    """The last path component of a model name: ``meta-llama/Llama-3.1-8B`` -> ``Llama-3.1-8B``.

    Both ``/`` and ``\\`` separate components, trailing separators are ignored, and
    characters unsafe in a directory name become ``_``. An empty result becomes ``model``.
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
