"""The SLA searches against the realistic simulator, whose answer the test knows: with no
slowdown per extra sequence and 8 sequences decoded at once, TTFT stays near its base up
to concurrency 8 and jumps by a whole request's time (queueing) beyond it.

The margins are wide against the simulator's own delays, so that a busy machine cannot
move an answer: TTFT is about 2 ms up to concurrency 8 and about 77 ms beyond (a request
is 3 gaps of 25 ms), against a 40 ms SLA."""

from __future__ import annotations

import json

from aiperf.recipes.sla import Probe, conclude, judge, search
from tests.recipes.search_plans import plan_for

URL = ("sim://?mode=realistic&itl_ms_per_seq=0&max_batch=8&jitter=0&osl=4"
       "&base_ttft_ms=2&prefill_ms_per_token=0&base_itl_ms=25")


def args(recipe: str, base, *extra: str) -> list[str]:
    return ["--search-recipe", recipe, "--concurrency-max", "64", "--url", URL, "--osl", "4",
            "--isl", "100", "--model", "m", "--streaming", "--request-count", "32",
            "--ui", "none", "--artifact-dir", str(base), *extra]


def test_max_concurrency_under_sla_is_the_simulators_batch_capacity(profile, tmp_path):
    run = profile(*args("max-concurrency-under-sla", tmp_path / "s", "--ttft-sla-ms", "40"))
    assert run.exit_code == 0, run.output
    result = json.loads((tmp_path / "s" / "sweep_aggregate" /
                         "max-concurrency-under-sla.json").read_text(encoding="utf-8"))
    assert (result["found"], result["concurrency"]) == (True, 8)
    assert "max concurrency under TTFT p95 <= 40 ms: concurrency 8" in run.stdout
    history = json.loads((tmp_path / "s" / "search_history.json").read_text(encoding="utf-8"))
    assert [h["concurrency"] for h in history][:5] == [1, 2, 4, 8, 16]  # probe, then bisect
    assert {h["concurrency"] for h in history if h["passed"]} == {1, 2, 4, 8}


def test_an_unreachable_sla_says_so(profile, tmp_path):
    run = profile(*args("max-throughput-ttft-sla", tmp_path / "s", "--ttft-sla-ms", "1"))
    assert run.exit_code == 0, run.output
    assert "no concurrency in [1, 64] meets TTFT p95 <= 1 ms" in run.stdout
    assert "out of reach" in run.stdout


def test_an_sla_recipe_without_its_sla_is_an_error_before_any_request(profile, tmp_path):
    run = profile("--search-recipe", "max-throughput-ttft-sla", "--url", URL, "--model", "m",
                  "--ui", "none", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 2
    assert "needs benchmark.search.ttft_sla_ms" in run.stderr
    assert not (tmp_path / "s").exists()


def _fake(ttft_by_concurrency):
    return lambda c: {"time_to_first_token": {"p95": ttft_by_concurrency(c)},
                      "output_token_throughput": {"avg": 10.0 * c}}


def test_search_probes_by_doubling_then_bisects():
    history = search(_fake(lambda c: 10.0 if c <= 37 else 100.0), 1, 1000, {"ttft_sla_ms": 50},
                     max_error_rate=0.01)
    assert [p.concurrency for p in history] == [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38, 37]
    plan = plan_for("max-concurrency-under-sla", {"ttft_sla_ms": 50}, 1, 1000)
    result, _ = conclude(plan, history)
    assert result["concurrency"] == 37


def test_a_non_monotone_server_is_reported():
    history = [Probe(1, True, {}, 1.0), Probe(2, False, {}, 2.0), Probe(4, True, {}, 4.0)]
    plan = plan_for("max-concurrency-under-sla", {"ttft_sla_ms": 5}, 1, 4)
    result, sentence = conclude(plan, history)
    assert result["non_monotone"] is True
    assert "non-monotone" in sentence


def test_a_missing_metric_fails_the_sla():
    assert judge({"time_to_first_token": {}}, {"ttft_sla_ms": 50.0}) == (
        False, {"ttft_sla_ms": None})


def test_max_goodput_under_slo_stops_where_requests_start_missing_their_slos(profile, tmp_path):
    run = profile(*args("max-goodput-under-slo", tmp_path / "s", "--ttft-sla-ms", "40",
                        "--itl-sla-ms", "50", "--e2e-sla-ms", "1000", "--no-auto-plot"))
    assert run.exit_code == 0, run.output
    result = json.loads((tmp_path / "s" / "sweep_aggregate" /
                         "max-goodput-under-slo.json").read_text(encoding="utf-8"))
    assert (result["found"], result["concurrency"]) == (True, 8)
    assert result["goodput"] > 0
    summary = json.loads((tmp_path / "s" / "concurrency8" / "profile_export_aiperf.json")
                         .read_text(encoding="utf-8"))
    assert summary["input_config"]["benchmark"]["slos"] == {
        "time_to_first_token": 40.0, "inter_token_latency": 50.0, "request_latency": 1000.0}


def test_the_goodput_search_judges_the_share_of_good_requests():
    assert judge({"good_request_fraction": {"avg": 0.96}}, {"attainment": 0.95}) == (
        True, {"attainment": 0.96})
    assert judge({"good_request_fraction": {"avg": 0.5}}, {"attainment": 0.95})[0] is False


def test_the_sla_boundary_is_drawn_after_a_search(profile, tmp_path, _isolated_environment):
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("dpi: 50\nwidth: 3\nheight: 2\nmulti_run:\n  - sla_boundary\n",
                           encoding="utf-8")
    run = profile(*args("max-concurrency-under-sla", tmp_path / "s", "--ttft-sla-ms", "40",
                        "--auto-plot"))
    assert run.exit_code == 0, run.output
    assert (tmp_path / "s" / "plots" / "sla_boundary.png").is_file(), (
        tmp_path / "s" / "plots" / "aiperf_plot.log").read_text(encoding="utf-8")


def test_max_throughput_itl_sla_stops_where_itl_grows_past_the_sla(profile, tmp_path):
    # ITL is 2 ms plus 20 ms per sequence decoded at once: 82 ms at concurrency 4 and
    # 102 ms at 5, either side of a 92 ms SLA by 10 ms (ITL is measured to ~0.1 ms).
    url = ("sim://?mode=realistic&jitter=0&base_itl_ms=2&itl_ms_per_seq=20&osl=4"
           "&base_ttft_ms=2&prefill_ms_per_token=0")
    run = profile("--search-recipe", "max-throughput-itl-sla", "--itl-sla-ms", "92",
                  "--concurrency-max", "64", "--url", url, "--osl", "4", "--model", "m",
                  "--streaming", "--request-count", "16", "--ui", "none", "--no-auto-plot",
                  "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 0, run.output
    result = json.loads((tmp_path / "s" / "sweep_aggregate" /
                         "max-throughput-itl-sla.json").read_text(encoding="utf-8"))
    assert (result["found"], result["concurrency"]) == (True, 4)
    assert "max output throughput under ITL p95 <= 92 ms: concurrency 4" in run.stdout


def test_the_grid_search_style_probes_every_point(profile, tmp_path):
    run = profile(*args("max-concurrency-under-sla", tmp_path / "s", "--ttft-sla-ms", "40",
                        "--search-style", "grid", "--concurrency-max", "16",
                        "--concurrency-steps", "5", "--no-auto-plot"))
    assert run.exit_code == 0, run.output
    history = json.loads((tmp_path / "s" / "search_history.json").read_text(encoding="utf-8"))
    assert [h["concurrency"] for h in history] == [1, 2, 4, 8, 16]
    result = json.loads((tmp_path / "s" / "sweep_aggregate" /
                         "max-concurrency-under-sla.json").read_text(encoding="utf-8"))
    assert result["concurrency"] == 8


def test_the_bayesian_style_finds_the_bisect_answer_in_no_more_probes(profile, tmp_path,
                                                                      _isolated_environment):
    """The simulator's batch capacity is 8: past it requests queue and TTFT passes 40 ms.
    Within one step of the recipe's log grid of the probe-bisect answer, in no more
    probes, and auto-plotted like any search."""
    home_config = _isolated_environment / ".aiperf" / "plot_config.yaml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("dpi: 50\nwidth: 3\nheight: 2\nmulti_run:\n  - sla_boundary\n",
                           encoding="utf-8")
    answers, probes = {}, {}
    for style in ("probe-bisect", "bayesian"):
        base = tmp_path / style
        run = profile(*args("max-concurrency-under-sla", base, "--ttft-sla-ms", "40",
                            "--search-style", style, "--auto-plot"))
        assert run.exit_code == 0, run.output
        answers[style] = json.loads((base / "sweep_aggregate" / "max-concurrency-under-sla.json")
                                    .read_text(encoding="utf-8"))
        probes[style] = json.loads((base / "search_history.json").read_text(encoding="utf-8"))
        assert (base / "plots" / "sla_boundary.png").is_file()
    step = 64 ** (1 / 7)  # the recipe's 8-point log grid over [1, 64]
    assert answers["probe-bisect"]["concurrency"] == 8
    assert answers["bayesian"]["search_style"] == "bayesian"
    assert 8 / step <= answers["bayesian"]["concurrency"] <= 8
    assert len(probes["bayesian"]) <= len(probes["probe-bisect"])
