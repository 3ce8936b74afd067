"""The plot lists of the shipped plot-config template (``default_plot_config.yaml``),
generated from the plot registry.

The template is prose and commented examples; its commented ``single_run:`` and
``multi_run:`` lists name every shipped plot, in the shipped order. After a plot is added
to :data:`aiperf.plot.registry.PLOTS`, ``python -m aiperf.plot.template`` rewrites those
two lists in place (a test fails until it has been run).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from aiperf.plot.registry import Kind, plot_names

__all__ = ["TEMPLATE", "with_shipped_lists"]

TEMPLATE = Path(__file__).with_name("default_plot_config.yaml")

#: A commented list in the template: ``# single_run:`` then its ``#   - name`` lines.
_LIST = re.compile(r"^# (single_run|multi_run):\n(?:#   - [^\n]*\n)*", re.MULTILINE)


def _commented_list(kind: Kind) -> str:
    return f"# {kind}:\n" + "".join(f"#   - {name}\n" for name in plot_names(kind))


def with_shipped_lists(text: str) -> str:
    """``text`` with each commented ``single_run:`` / ``multi_run:`` list replaced by the
    registry's plots of that kind."""
    kinds: dict[str, Kind] = {"single_run": "single_run", "multi_run": "multi_run"}
    return _LIST.sub(lambda m: _commented_list(kinds[m.group(1)]), text)


def main(argv: list[str]) -> int:
    """Rewrite the template's plot lists (or the file named in ``argv``)."""
    path = Path(argv[0]) if argv else TEMPLATE
    text = path.read_text(encoding="utf-8")
    fresh = with_shipped_lists(text)
    if fresh != text:
        path.write_text(fresh, encoding="utf-8")
        print(f"rewrote the plot lists of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
