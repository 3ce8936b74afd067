"""Where ``aiperf plot`` writes when ``--output`` is not given.

One path: ``<path>/plots``, beside the run it draws. Several paths: a comparison is no
single run's, so it goes into a folder of its own named for it, beside the first path:
``<parent>/compare-<A>-vs-<B>``. Writing it into ``A/plots`` would replace A's own
plots and ``aiperf_plot.log`` with a comparison A never asked for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["default_output"]

#: Characters that are awkward in a folder name on some platform or in a shell.
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
#: Longer comparison names are shortened to "<first>-vs-<n>-more": a folder name must
#: stay well below the 255 bytes file systems allow.
_MAX_NAME = 120


def default_output(paths: Sequence[Path]) -> Path:
    """The output folder for plotting ``paths`` (at least one)."""
    distinct: list[Path] = []
    for path in paths:
        if path.resolve() not in {p.resolve() for p in distinct}:
            distinct.append(path)
    first = distinct[0]
    if len(distinct) == 1:
        return first / "plots"
    names = [_name(p) for p in distinct]
    name = "compare-" + "-vs-".join(names)
    if len(name) > _MAX_NAME:
        name = f"compare-{names[0][:_MAX_NAME // 2]}-vs-{len(names) - 1}-more"
    here = first if first.name not in ("", ".", "..") else first.resolve()
    return here.parent / name


def _name(path: Path) -> str:
    # "." and ".." have no name of their own; the folder they stand for has.
    raw = path.name if path.name not in ("", ".", "..") else path.resolve().name
    return _UNSAFE.sub("_", raw) or "runs"
