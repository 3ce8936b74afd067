"""The plain writer used off a terminal, the choice between it and rich, and what the
end-of-run report shows."""

from __future__ import annotations

import io

from metrics_helpers import make_record

from aiperf.bench.console import print_summary
from aiperf.bench.metrics import RunFacts
from aiperf.bench.output import PlainOutput, RichOutput, open_output
from aiperf.bench.run_tally import compute_run_metrics


def test_off_a_terminal_the_output_is_plain_text():
    assert isinstance(open_output("auto", stdout_is_terminal=False), PlainOutput)
    assert isinstance(open_output("none", stdout_is_terminal=False), PlainOutput)


def test_a_terminal_or_an_asked_for_progress_bar_gets_rich():
    assert isinstance(open_output("auto", stdout_is_terminal=True), RichOutput)
    assert isinstance(open_output("progress", stdout_is_terminal=False), RichOutput)


def test_plain_lines_carry_their_label_and_keep_brackets():
    out = io.StringIO()
    PlainOutput(out).line("server said [DONE] early", label="warning:", style="yellow")
    assert out.getvalue() == "warning: server said [DONE] early\n"


def test_plain_tables_align_every_column_to_the_right():
    out = io.StringIO()
    PlainOutput(out).table("aiperf | LLM Metrics", ("Metric", "avg"),
                           [["Time to First Token (ms)", "52.16"], ["ISL", "1,550.00"]])
    lines = out.getvalue().splitlines()
    assert lines[0] == "aiperf | LLM Metrics"
    assert lines[1] == "                  Metric |      avg"
    assert lines[2] == "-------------------------+---------"
    assert lines[3] == "Time to First Token (ms) |    52.16"
    assert lines[4] == "                     ISL | 1,550.00"


def test_rich_lines_print_brackets_as_text_not_markup():
    output = RichOutput(width=80)
    with output.console.capture() as captured:
        output.line("unexpected token [/red] in [bold]body", label="error:", style="red")
    assert captured.get() == "error: unexpected token [/red] in [bold]body\n"


def _client_health_table(requested_request_rate: float | None) -> str:
    """The printed end-of-run report of three requests, closed-loop or rate-driven."""
    records = [make_record(i, start=i * 100 * 10**6) for i in range(3)]
    start = records[0].start_wall_ns
    metrics = compute_run_metrics(records, RunFacts(
        start_wall_ns=start, end_wall_ns=start + 10**9, streaming=True,
        requested_request_rate=requested_request_rate))
    out = io.StringIO()
    print_summary(PlainOutput(out), metrics, "artifacts/x", "complete", None)
    return out.getvalue()


def test_achieved_request_rate_is_shown_for_rate_driven_runs_only():
    """The Client Health table names the achieved rate only when a rate was requested:
    a closed loop's send rate is the server's pace, not a target the client could miss."""
    assert "Achieved Request Rate" not in _client_health_table(None)
    assert "Achieved Request Rate" in _client_health_table(10.0)
