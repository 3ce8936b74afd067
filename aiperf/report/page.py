"""Write the HTML report: one self-contained file with its data, scripts and styles inline.

The page is ``assets/report.html`` with four things put in: the styles, the report's
data (:func:`aiperf.report.data.report_data`) as JSON, plotly.js (the minified bundle the
``plotly`` package ships, so nothing is downloaded, ever) and ``assets/report.js``, which
draws every table and chart from the data in the browser. Its Content-Security-Policy
forbids every fetch: the page works offline, or visibly not at all.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from aiperf.plot.discover import Discovery

__all__ = ["REPORT_NAME", "NoReportData", "Report", "render_page", "write_report"]

#: The report's file name inside the plot output folder.
REPORT_NAME = "report.html"
_ASSETS = Path(__file__).with_name("assets")


class NoReportData(Exception):
    """No run has anything to report (no records, no successful request); says why."""


@attrs.frozen
class Report:
    """A written report: where, how big, and which runs it holds."""

    path: Path
    size: int
    runs: tuple[str, ...]
    #: Runs left out, one line each (no records, no successful request).
    skipped: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the console."""
        return (f"HTML report: {self.path} ({len(self.runs)} run(s), "
                f"{self.size / 1e6:.1f} MB, self-contained)")


def plotly_js() -> str:
    """The minified plotly.js the ``plotly`` package ships (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise NoReportData("the HTML report needs the plotly package (pip install plotly)")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path.read_text(encoding="utf-8")


def render_page(data: Any) -> str:
    """The report's HTML for ``data`` (JSON-ready)."""
    template = (_ASSETS / "report.html").read_text(encoding="utf-8")
    # "<" escaped so no value can close the script element that holds the data.
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False,
                         separators=(",", ":")).replace("<", "\\u003c")
    parts = {
        "/*@STYLE@*/": (_ASSETS / "report.css").read_text(encoding="utf-8"),
        "/*@DATA@*/": payload,
        "/*@PLOTLY@*/": plotly_js(),
        "/*@REPORT@*/": (_ASSETS / "report.js").read_text(encoding="utf-8"),
    }
    out = template
    for marker, text in parts.items():
        head, found, tail = out.partition(marker)
        if not found:
            raise RuntimeError(f"report template lacks {marker}")
        out = head + text + tail  # one replacement each: never inside what was put in
    return out


def write_report(discovery: Discovery, output: Path, title: str | None = None,
                 notice: Callable[[str], None] = lambda _: None) -> Report:
    """Write ``output/report.html`` for the runs of ``discovery``; :class:`NoReportData`
    when none has data (each run's reason joined in the message)."""
    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.plot.frames import NoData, load_run
    from aiperf.report.data import report_data

    loaded, skipped = [], []
    for run in discovery.runs:
        try:
            loaded.append(load_run(run, discovery.name_of(run)))
        except NoData as e:
            skipped.append(str(e))
            notice(f"report: skipped {e}")
    if not loaded:
        raise NoReportData("no data for the HTML report: " + "; ".join(skipped))
    html = render_page(report_data(discovery, loaded, title))
    output.mkdir(parents=True, exist_ok=True)
    path = output / REPORT_NAME
    write_text_atomic(path, html)
    return Report(path, len(html.encode("utf-8")), tuple(r.name for r in loaded),
                  tuple(skipped))
