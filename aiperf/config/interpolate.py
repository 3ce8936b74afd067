"""``${VAR}`` and ``${VAR:default}`` references in YAML values.

Pure: the environment is passed in. ``$${`` writes a literal ``${``. Substitution
happens on the text of one scalar, before strictyaml types it, so a reference can
never change the structure of the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


@attrs.frozen
class InterpolationError(Exception):
    """A reference that cannot be substituted; ``message`` says why, ``hint`` how to fix."""

    message: str
    hint: str | None = None


def has_reference(text: str) -> bool:
    """Whether ``text`` contains anything for :func:`interpolate` to do."""
    return "${" in text


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace every reference in ``text`` with its value from ``environ``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise InterpolationError(
            f"environment variable {name} is not set and ${{{name}}} has no default",
            hint=f"export {name}=..., or write ${{{name}:default}}",
        )

    if "${" in _REF.sub("", text):
        bad = text[text.index("${") :]
        raise InterpolationError(
            f"malformed environment reference {bad!r}",
            hint="write ${NAME} or ${NAME:default}; use $${ for a literal ${",
        )
    return _REF.sub(replace, text)
