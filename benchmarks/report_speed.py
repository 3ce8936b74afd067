"""How fast the HTML report is written and how fast the page answers, for a large run.

    python benchmarks/report_speed.py               # 10,000 requests, 5 rounds
    python benchmarks/report_speed.py -n 20000 -r 7

Makes one run of N streamed requests against the built-in simulator (instant answers, so
the run itself takes seconds), then, in interleaved rounds:

- writing: ``write_report`` (find the run, read its records and summary, build the data,
  write report.html), against the baseline of reading the run alone (``load_run``, what
  the PNG plots read too);
- the page in headless Chromium (Debian's chromium and chromedriver, network off): when
  the tables and the SLO panel answer (``interactiveMs``) and when every chart is drawn
  (``readyMs``), from navigation start, against the baseline of a page that holds only
  the same inlined plotly.js.

Medians are printed with the ratios. The targets (issue 14): written in under 3 s, page
interactive in under 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))


def make_run(folder: Path, requests: int) -> Path:
    from typer.testing import CliRunner

    from aiperf.cli import app

    run = folder / "run"
    result = CliRunner().invoke(app, [
        "profile", "--url", "sim://?mode=deterministic&ttft_ms=1&itl_ms=0.2", "--model", "m",
        "--streaming", "--osl", "8", "--isl", "32", "--concurrency", "64",
        "--request-count", str(requests), "--ui", "none", "--no-server-metrics",
        "--no-gpu-telemetry", "--artifact-dir", str(run)])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return run


def time_writing(run: Path, out: Path) -> tuple[float, float, int]:
    from aiperf.plot.discover import discover
    from aiperf.plot.frames import load_run
    from aiperf.report.page import write_report

    t0 = time.perf_counter()
    found = discover([run])
    load_run(found.runs[0], "run")
    t1 = time.perf_counter()
    report = write_report(discover([run]), out)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, report.size


def time_page(driver, page: Path, baseline: Path) -> tuple[float, float, float]:
    from report_browser import wait_ready

    driver.get(baseline.as_uri())
    t0 = time.monotonic()
    while not driver.execute_script("return typeof Plotly !== 'undefined'"):
        if time.monotonic() - t0 > 30:
            raise TimeoutError("the baseline page did not load plotly.js")
        time.sleep(0.01)
    base_ms = driver.execute_script("return window.loadedMs")
    driver.get(page.as_uri())
    ready_s = wait_ready(driver)
    interactive_ms = driver.execute_script("return window.aiperfReport.interactiveMs")
    return base_ms / 1000, interactive_ms / 1000, ready_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=10_000)
    parser.add_argument("-r", "--rounds", type=int, default=5)
    args = parser.parse_args()

    from report_browser import chromium, missing

    from aiperf.report.page import plotly_js

    with tempfile.TemporaryDirectory(prefix="aiperf-report-speed-") as tmp:
        folder = Path(tmp)
        print(f"making a run of {args.requests:,} requests ...", flush=True)
        run = make_run(folder, args.requests)
        baseline = folder / "plotly-only.html"
        baseline.write_text(
            "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><script>"
            + plotly_js() + "</script><script>window.loadedMs = performance.now();"
            "</script></body></html>", encoding="utf-8")
        reading, writing, pages = [], [], []
        size = 0
        why = missing()
        browser = chromium() if why is None else None
        driver = browser.__enter__() if browser is not None else None
        try:
            for _ in range(args.rounds):
                read_s, write_s, size = time_writing(run, folder / "out")
                reading.append(read_s)
                writing.append(write_s)
                if driver is not None:
                    pages.append(time_page(driver, folder / "out" / "report.html", baseline))
        finally:
            if browser is not None:
                browser.__exit__(None, None, None)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"\n{args.requests:,} requests, {args.rounds} rounds, medians; report "
          f"{size / 1e6:.2f} MB")
    print(f"{'':34}{'seconds':>10}{'ratio':>10}")
    print(f"{'read the run (load_run, baseline)':34}{med(reading):>10.3f}{1:>10.2f}")
    print(f"{'write the report (all of it)':34}{med(writing):>10.3f}"
          f"{med(writing) / med(reading):>10.2f}")
    if pages:
        base = med([p[0] for p in pages])
        interactive = med([p[1] for p in pages])
        ready = med([p[2] for p in pages])
        print(f"{'page with plotly.js only (baseline)':34}{base:>10.3f}{1:>10.2f}")
        print(f"{'report interactive (tables, SLOs)':34}{interactive:>10.3f}"
              f"{interactive / base:>10.2f}")
        print(f"{'report with every chart drawn':34}{ready:>10.3f}{ready / base:>10.2f}")
    else:
        print(f"(no page timings: {why})")
    print("\ntargets: written < 3 s, interactive < 2 s")


if __name__ == "__main__":
    main()
