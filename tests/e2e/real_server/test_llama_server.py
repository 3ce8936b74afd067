"""Correct numbers against a real server: llama.cpp's ``llama-server`` (see conftest).

This server closes the connection after every streamed response while advertising
keep-alive, counts prompts with its own BPE tokenizer plus a chat template, and generates
exactly ``max_tokens`` tokens (its random model never stops early). So every run must
have no error at all, every request's OSL must be the requested ``max_tokens``, and the
prompts the server saw must average the requested ISL within 2% once aiperf has sized
them against the server.
"""

from __future__ import annotations

import json
import statistics

import pytest

pytestmark = pytest.mark.real_server

ISL, OSL = 96, 24


def _metric(record: dict, tag: str) -> float:
    return record["metrics"][tag]["value"]


def _checked(run, check_artifacts):
    assert 0 == run.exit_code, run.output
    return check_artifacts(run.run_dir)


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
@pytest.mark.parametrize("concurrency", [1, 4, 16])
def test_streaming_runs_have_no_errors_and_exact_lengths(llama_server, profile, check_artifacts,
                                                         endpoint, concurrency):
    count = max(16, 2 * concurrency)
    run = profile("--url", llama_server, "--model", "tiny-random-llama", "--endpoint-type",
                  endpoint, "--streaming", "--concurrency", str(concurrency), "--request-count",
                  str(count), "--isl", str(ISL), "--osl", str(OSL), "--artifact-dir", "out",
                  "--ui", "none")
    arts = _checked(run, check_artifacts)
    records = arts.records
    delivered = [_metric(r, "input_sequence_length") for r in records]

    assert count == len(records)
    assert [] == [r["error"] for r in records if "error" in r]
    assert {OSL} == {_metric(r, "output_sequence_length") for r in records}
    assert ISL == pytest.approx(statistics.fmean(delivered), rel=0.02), delivered
    assert "server-tokenize" == arts.manifest["prompt_sizing"]["method"]


def test_calibration_requests_size_prompts_without_tokenize(llama_server, profile,
                                                            check_artifacts):
    """Forced to calibrate by requests, ISL still lands within 2% on average."""
    run = profile("--url", llama_server, "--model", "tiny-random-llama", "--streaming",
                  "--concurrency", "4", "--request-count", "48", "--isl", "128", "--osl", "8",
                  "--prompt-sizing", "calibration", "--artifact-dir", "out", "--ui", "none")
    arts = _checked(run, check_artifacts)
    delivered = [_metric(r, "input_sequence_length") for r in arts.records]
    sizing = arts.manifest["prompt_sizing"]

    assert "calibration-requests" == sizing["method"]
    assert 3 == len(sizing["calibration_requests"])
    assert 128 == pytest.approx(statistics.fmean(delivered), rel=0.02), delivered


def test_reuse_stops_and_no_request_is_an_error(llama_server, profile, check_artifacts):
    """The server's closes are noticed, said once, and cost no request."""
    run = profile("--url", llama_server, "--model", "tiny-random-llama", "--streaming",
                  "--concurrency", "4", "--request-count", "32", "--isl", "32", "--osl", "8",
                  "--artifact-dir", "out", "--ui", "none")
    summary = _checked(run, check_artifacts).summary
    connections = summary["client_health"]["connections"]

    assert "error_request_count" not in summary
    assert connections["reuse_stopped"]
    assert 1 == run.output.count("one connection per request")


def test_concurrency_ramp_cells_have_no_errors(llama_server, profile):
    run = profile("--url", llama_server, "--model", "tiny-random-llama",
                  "--search-recipe", "concurrency-ramp", "--concurrency-min", "1",
                  "--concurrency-max", "16", "--concurrency-steps", "3", "--request-count",
                  "24", "--isl", "64", "--osl", "16", "--streaming", "--no-auto-plot",
                  "--artifact-dir", "ramp", "--ui", "none")
    aggregate = json.loads(
        (run.run_dir / "sweep_aggregate" / "profile_export_aiperf_sweep.json").read_text())

    assert 0 == run.exit_code, run.output
    cells = sorted(p.name for p in run.run_dir.iterdir() if p.name.startswith("concurrency"))
    assert 3 == len(cells)
    for cell in cells:
        summary = json.loads((run.run_dir / cell / "profile_export_aiperf.json").read_text())
        assert 0 == summary["request_error_rate"]["avg"], cell
    assert [] == aggregate["sweep"].get("degraded", [])
    assert [] == aggregate["sweep"]["failed"]


def test_its_metrics_are_scraped_exported_and_plotted(llama_server, profile, check_artifacts,
                                                      home):
    """llama-server --metrics answers /metrics, so a run probes it and reads it: the
    llamacpp: families are exported, their token counters agree with the run's records,
    and the queue plot draws them."""
    config = home / ".aiperf" / "plot_config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("dpi: 50\nwidth: 4\nheight: 3\nsingle_run:\n"
                      "  - server_queue_and_throughput_over_time\n", encoding="utf-8")
    run = profile("--url", llama_server, "--model", "tiny-random-llama", "--streaming",
                  "--concurrency", "4", "--request-count", "24", "--isl", "32", "--osl", "16",
                  "--warmup-request-count", "0", "--server-metrics-interval", "0.25",
                  "--auto-plot", "--artifact-dir", "out", "--ui", "none")
    arts = _checked(run, check_artifacts)
    exported = json.loads((run.run_dir / "server_metrics_export.json").read_text())
    metrics = exported["metrics"]
    predicted = sum(s["stats"]["total"] for s in metrics["llamacpp:tokens_predicted"]["series"])

    assert {"llamacpp:prompt_tokens", "llamacpp:tokens_predicted",
            "llamacpp:requests_processing", "llamacpp:requests_deferred"} <= set(metrics)
    assert predicted == sum(_metric(r, "output_sequence_length") for r in arts.records)
    assert (run.run_dir / "plots" / "server_queue_and_throughput_over_time.png").is_file()


def test_a_shared_prefix_fills_its_prompt_cache_and_unique_prompts_do_not(llama_server,
                                                                         profile):
    """llama-server reuses a slot's cached prompt for the prefix a new prompt shares with
    it: its own llamacpp:prompt_tokens_cached counter rises with a pooled prefix, far
    more than with aiperf's unique (salted) prompts."""
    def cached(*extra: str) -> float:
        run = profile("--url", llama_server, "--model", "tiny-random-llama", "--streaming",
                      "--concurrency", "1", "--request-count", "12", "--osl", "4",
                      "--warmup-request-count", "0", "--server-metrics-interval", "0.25",
                      "--artifact-dir", f"out-{len(extra)}", "--ui", "none", *extra)
        assert 0 == run.exit_code, run.output
        exported = json.loads((run.run_dir / "server_metrics_export.json").read_text())
        series = exported["metrics"]["llamacpp:prompt_tokens_cached"]["series"]
        return sum(s["stats"]["total"] for s in series)

    unique = cached("--isl", "160")
    shared = cached("--isl", "32", "--num-prefix-prompts", "1", "--prefix-prompt-length", "128")

    assert shared > 500  # about 128 tokens for each of 11 requests
    assert shared > 5 * max(unique, 1.0)


def test_a_sessions_prompts_grow_turn_by_turn(llama_server, profile, check_artifacts):
    """Each turn sends the whole history: the server's own usage.prompt_tokens grows
    within every session."""
    run = profile("--url", llama_server, "--model", "tiny-random-llama", "--streaming",
                  "--num-sessions", "3", "--session-turns-mean", "3", "--concurrency", "2",
                  "--isl", "32", "--osl", "8", "--artifact-dir", "out", "--ui", "none")
    arts = _checked(run, check_artifacts)
    prompts: dict[str, list[tuple[int, float]]] = {}
    for record in arts.records:
        meta = record["metadata"]
        prompts.setdefault(meta["conversation_id"], []).append(
            (meta["turn_index"], _metric(record, "usage_prompt_tokens")))

    assert len(prompts) == 3
    for turns in prompts.values():
        seen = [tokens for _, tokens in sorted(turns)]
        assert len(seen) == 3 and seen == sorted(seen) and seen[-1] > seen[0] + 32, seen
