"""The HTML report (``aiperf plot --html``) and the dashboard (``--dashboard``), checked in
a real headless Chromium with its network cut off: one self-contained file that loads
without console errors or requests, every chart drawn from data, an SLO panel whose
goodput is the one computed from the records, and a screenshot that is not blank."""

from __future__ import annotations

import io
import json
import re
import signal
import statistics
import urllib.request
from pathlib import Path

import pytest
from report_browser import chromium, console_errors, missing, requests_made, wait_ready
from typer.testing import CliRunner

from aiperf.cli import app

SIM = "sim://?mode=realistic&error_rate=0.05&seed=7"
RUN = ("--model", "m", "--streaming", "--osl", "8", "--isl", "32", "--ui", "none",
       "--no-server-metrics", "--no-gpu-telemetry")
#: The run's own goodput threshold; the page must give the summary's goodput for it.
OWN_TTFT_MS = 25.0

needs_browser = pytest.mark.skipif(missing() is not None, reason=str(missing()))


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    """A streamed run with some failed requests and an SLO of its own, and its report."""
    base = tmp_path_factory.mktemp("report")
    run = base / "run"
    made = cli("profile", "--url", SIM, *RUN, "--concurrency", "8", "--request-count", "200",
               "--api-key", "sk-report-secret-4242", "--goodput",
               f"time_to_first_token:{OWN_TTFT_MS}", "--artifact-dir", str(run))
    assert made.exit_code == 0, made.output
    plotted = cli("plot", str(run), "--html")
    assert plotted.exit_code == 0, plotted.output
    assert "HTML report:" in plotted.output
    return run


@pytest.fixture(scope="module")
def browser():
    if missing() is not None:
        pytest.skip(str(missing()))
    with chromium() as driver:
        yield driver


def records_of(run: Path) -> list[dict]:
    lines = (run / "profile_export.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def expected_goodput(run: Path, ttft_ms: float) -> float:
    """Good requests (ok, TTFT at most the threshold) per second of the measured window."""
    summary = json.loads((run / "profile_export_aiperf.json").read_text())
    window_s = summary["request_count"]["avg"] / summary["request_throughput"]["avg"]
    good = sum(1 for r in records_of(run) if "error" not in r
               and r["metrics"]["time_to_first_token"]["value"] <= ttft_ms)
    return good / window_s


def open_report(driver, run: Path) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get((run / "plots" / "report.html").as_uri())
    wait_ready(driver)


def set_input(driver, element_id: str, value: str) -> None:
    driver.execute_script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input'));", element_id, value)


# --------------------------------------------------------------------------- the file


def test_the_report_is_one_file_with_nothing_to_fetch(report_run):
    html = (report_run / "plots" / "report.html").read_text()

    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert "default-src 'none'" in html  # the browser refuses any fetch it might try
    assert "Plotly" in html


def test_secrets_never_reach_the_report(report_run):
    html = (report_run / "plots" / "report.html").read_text()

    assert "sk-report-secret-4242" not in html


def test_a_run_without_records_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "profile_export_aiperf.json").write_text("{}")
    (empty / "profile_export.jsonl").write_text("")

    result = cli("plot", str(empty), "--html")

    assert result.exit_code == 1
    assert "no profiling requests" in result.output
    assert "Traceback" not in result.output
    assert not (empty / "plots" / "report.html").exists()


def test_a_path_with_no_runs_is_a_clear_error(tmp_path):
    result = cli("plot", str(tmp_path / "nowhere"), "--html")

    assert result.exit_code == 2
    assert "nowhere" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- the page


@needs_browser
def test_the_page_loads_offline_without_console_errors_or_requests(report_run, browser):
    open_report(browser, report_run)

    assert console_errors(browser) == []
    assert requests_made(browser) == []
    assert browser.execute_script("return window.aiperfReport.errors") == []


@needs_browser
def test_every_chart_has_rendered_data(report_run, browser):
    open_report(browser, report_run)
    charts = browser.execute_script("""
        return [...document.querySelectorAll('.js-plotly-plot')].map((div) => [div.id,
            div.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0),
            div.querySelectorAll('.point, .scatterlayer path, .bars path').length]);""")

    ids = {c[0] for c in charts}
    assert {"ttft-over-time", "latency-over-time", "itl-over-time", "throughput-over-time",
            "cdf-ttft", "cdf-itl", "cdf-latency", "errors-by-type",
            "errors-over-time"} <= ids
    assert all(points > 0 and drawn > 0 for _, points, drawn in charts), charts


@needs_browser
def test_the_runs_own_slo_gives_the_summarys_goodput(report_run, browser):
    open_report(browser, report_run)
    summary = json.loads((report_run / "profile_export_aiperf.json").read_text())

    shown = browser.find_element("id", "slo-ttft").get_attribute("value")
    goodput = float(browser.find_element("id", "goodput-0").get_attribute("data-value"))

    assert float(shown) == OWN_TTFT_MS
    assert goodput == pytest.approx(summary["goodput"]["avg"], rel=1e-9)


@needs_browser
def test_changing_an_slo_threshold_recomputes_goodput_from_the_records(report_run, browser):
    open_report(browser, report_run)
    ttfts = [r["metrics"]["time_to_first_token"]["value"] for r in records_of(report_run)
             if "error" not in r]
    threshold = statistics.median(ttfts)
    before = browser.find_element("id", "goodput-0").get_attribute("data-value")

    set_input(browser, "slo-ttft", str(threshold))
    after = float(browser.find_element("id", "goodput-0").get_attribute("data-value"))

    assert after != float(before)
    assert after == pytest.approx(expected_goodput(report_run, threshold), rel=1e-9)


@needs_browser
def test_a_screenshot_is_not_blank(report_run, browser):
    import numpy as np
    from PIL import Image

    open_report(browser, report_run)
    browser.execute_script("document.getElementById('charts').scrollIntoView()")
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    colours = len(np.unique(pixels, axis=0))
    # Chart marks are saturated (the runs' colours); text and the page are grey.
    saturated = int(((pixels.max(axis=1) - pixels.min(axis=1)) > 60).sum())

    assert colours > 100
    assert saturated > 2000


@needs_browser
def test_large_runs_are_down_sampled_with_the_fact_shown(tmp_path, browser):
    run = tmp_path / "big"
    made = cli("profile", "--url", "sim://?mode=deterministic&ttft_ms=0&itl_ms=0", *RUN,
               "--concurrency", "32", "--request-count", "2500", "--artifact-dir", str(run))
    assert made.exit_code == 0, made.output
    assert cli("plot", str(run), "--html").exit_code == 0

    open_report(browser, run)
    note = browser.find_element("id", "sampling-note").text
    drawn = browser.execute_script(
        "return document.getElementById('ttft-over-time').data[0].x.length")

    assert "one request in 2 of big (1,250 of 2,500)" in note
    assert drawn == 1250


@needs_browser
def test_several_runs_get_a_comparison_and_a_pareto_view(tmp_path, browser):
    sweep = tmp_path / "sweep"
    made = cli("profile", "--url", "sim://?mode=realistic", *RUN, "--concurrency", "1,2,4",
               "--request-count", "12", "--artifact-dir", str(sweep))
    assert made.exit_code == 0, made.output
    assert cli("plot", str(sweep), "--html").exit_code == 0

    open_report(browser, sweep)
    rows = browser.find_elements("css selector", "#comparison tbody tr")
    points = browser.execute_script(
        "return document.getElementById('pareto-chart').data[0].x.length")

    assert len(rows) >= 2 * 6  # two treatments against the baseline, a row per statistic
    assert points == 3
    assert console_errors(browser) == []


@needs_browser
def test_trials_on_both_sides_give_a_confidence_interval_of_the_delta(tmp_path, browser):
    for name, ttft in (("base", 10), ("treat", 30)):
        made = cli("profile", "--url", f"sim://?mode=realistic&base_ttft_ms={ttft}", *RUN,
                   "--concurrency", "2", "--request-count", "10", "--num-profile-runs", "2",
                   "--artifact-dir", str(tmp_path / name))
        assert made.exit_code == 0, made.output
    out = tmp_path / "compare"
    result = cli("plot", str(tmp_path / "base"), str(tmp_path / "treat"), "--html",
                 "--output", str(out))
    assert result.exit_code == 0, result.output

    browser.get_log("browser")
    browser.get((out / "report.html").as_uri())
    wait_ready(browser)
    text = browser.find_element("id", "comparison").text

    assert "Compared with the baseline" in text
    assert "needs 2+ trials" not in text
    assert " to " in text  # an interval, low to high


@needs_browser
def test_the_configuration_shows_origins_and_hides_secrets(report_run, browser):
    open_report(browser, report_run)
    text = browser.find_element("id", "config").text

    assert "benchmark.endpoint.url" in text and "command-line flag --url" in text
    assert "benchmark.endpoint.api_key" in text and "***" in text
    assert "sk-report-secret-4242" not in browser.page_source


# --------------------------------------------------------------------------- auto-plot


def test_auto_plot_writes_the_report_when_the_plot_config_asks(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("benchmark:\n  endpoint:\n    url: 'sim://'\n    model: m\n"
                      "  load:\n    request_count: 6\nplot:\n  html: true\n")
    run = tmp_path / "auto"
    result = cli("profile", "-f", str(config), "--ui", "none", "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    assert (run / "plots" / "report.html").is_file()
    assert any((run / "plots").glob("*.png"))  # PNGs stay


def test_auto_plot_writes_no_report_unless_asked(tmp_path):
    run = tmp_path / "plain"
    result = cli("profile", "--url", "sim://", "--model", "m", "--request-count", "6",
                 "--ui", "none", "--auto-plot", "--artifact-dir", str(run))

    assert result.exit_code == 0, result.output
    assert any((run / "plots").glob("*.png"))
    assert not (run / "plots" / "report.html").exists()


# --------------------------------------------------------------------------- dashboard


@needs_browser
def test_the_dashboard_serves_the_report_and_the_pngs(report_run, aiperf_subprocess):
    proc = aiperf_subprocess("plot", str(report_run), "--dashboard", "--port", "0")
    url = _dashboard_url(proc)

    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    with urllib.request.urlopen(url + "files/", timeout=10) as response:
        listing = response.read().decode()
    png = re.search(r'href="([^"]+\.png)"', listing).group(1)
    with urllib.request.urlopen(url + png, timeout=10) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    with chromium(offline=False) as driver:
        driver.get(url)
        wait_ready(driver)
        errors = console_errors(driver)
        outside = [u for u in requests_made(driver) if not u.startswith(url)]
        goodput = driver.find_element("id", "goodput-0").get_attribute("data-value")

    assert 'id="report-data"' in page
    assert errors == [] and outside == []
    assert float(goodput) > 0
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0


def _dashboard_url(proc) -> str:
    for line in proc.stdout:
        found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return found.group(1)
    raise AssertionError(proc.stderr.read())


def test_ctrl_c_stops_a_dashboard_started_as_a_background_job(report_run, aiperf_subprocess):
    proc = aiperf_subprocess("plot", str(report_run), "--dashboard", "--port", "0",
                             ignore_sigint=True)
    _dashboard_url(proc)

    proc.send_signal(signal.SIGINT)

    assert proc.wait(timeout=30) == 0
    assert "dashboard stopped" in proc.stdout.read()


def test_sigterm_stops_the_dashboard_cleanly(report_run, aiperf_subprocess):
    proc = aiperf_subprocess("plot", str(report_run), "--dashboard", "--port", "0")
    url = _dashboard_url(proc)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200

    proc.send_signal(signal.SIGTERM)

    assert proc.wait(timeout=30) == 0
    assert "dashboard stopped" in proc.stdout.read()


def test_the_dashboard_listens_on_loopback_by_default(tmp_path):
    from aiperf.report.serve import Dashboard

    (tmp_path / "report.html").write_text("<html></html>")
    server = Dashboard(tmp_path, port=0).start()
    try:
        with urllib.request.urlopen(server.url, timeout=10) as response:
            assert response.read() == b"<html></html>"
    finally:
        server.stop()

    assert server.url.startswith("http://127.0.0.1:")
