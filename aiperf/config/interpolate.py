"""``${VAR}`` and ``${VAR:default}`` references in YAML values.

Pure: the environment is passed in. ``$${`` writes a literal ``${``. Substitution
happens on the text of one scalar, before strictyaml types it, so a reference can
never change the structure of the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

# One left-to-right scan: an escaped ``$${``, a well-formed reference, or a stray ``${``.
_REF = re.compile(r"(\$\$\{)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}|(\$\{)")


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
        escaped, name, default, stray = match.groups()
        if escaped:
            return "${"
        if stray:
            bad = text[match.start() :]
            raise InterpolationError(
                f"malformed environment reference {bad!r}",
                hint="write ${NAME} or ${NAME:default}; use $${ for a literal ${",
            )
        if default is not None and "${" in default:
            raise InterpolationError(
                f"nested environment reference in the default of ${{{name}}}",
                hint="defaults are plain text; set the variable instead of nesting",
            )
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise InterpolationError(
            f"environment variable {name} is not set and ${{{name}}} has no default",
            hint=f"export {name}=..., or write ${{{name}:default}}",
        )

    return _REF.sub(replace, text)
