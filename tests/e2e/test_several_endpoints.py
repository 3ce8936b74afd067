"""Several endpoints (``--url`` repeated, ``--url-strategy``): the requests are spread
over them, each record names its endpoint, a session's turns stay on one, and each
endpoint gets its own summary beside the total."""

from __future__ import annotations

import json
from collections import Counter

RUN = ("--model", "m", "--streaming", "--osl", "4", "--isl", "16", "--ui", "none",
       "--prompt-sizing", "builtin", "--no-server-metrics", "--no-gpu-telemetry")


def records_of(run) -> list[dict]:
    return [json.loads(line) for line in run.read().records_path.read_text().splitlines()]


def test_round_robin_spreads_requests_evenly_and_tags_each_record(sim_server, profile):
    a, b = sim_server(), sim_server()
    run = profile("--url", a.url, "--url", b.url, *RUN, "--concurrency", "4",
                  "--request-count", "40")

    assert run.exit_code == 0, run.output
    tags = Counter(r["metadata"]["endpoint_url"] for r in records_of(run))
    assert tags == {a.url: 20, b.url: 20}
    # The servers' own counts: what each one was actually sent.
    assert a.stats(records=False)["totals"]["requests"] == 20
    assert b.stats(records=False)["totals"]["requests"] == 20


def test_each_endpoint_gets_its_own_summary_beside_the_total(sim_server, profile):
    fast = sim_server(mode="realistic", jitter=0, base_ttft_ms=2, prefill_ms_per_token=0,
                      base_itl_ms=1, itl_ms_per_seq=0)
    slow = sim_server(mode="realistic", jitter=0, base_ttft_ms=60, prefill_ms_per_token=0,
                      base_itl_ms=1, itl_ms_per_seq=0)
    run = profile("--url", fast.url, "--url", slow.url, *RUN, "--concurrency", "2",
                  "--request-count", "20")

    assert run.exit_code == 0, run.output
    summary = run.read().summary()
    by_url = {e["url"]: e for e in summary["endpoints"]}
    assert set(by_url) == {fast.url, slow.url}
    assert by_url[fast.url]["request_count"]["avg"] == 10
    assert by_url[slow.url]["request_count"]["avg"] == 10
    assert summary["request_count"]["avg"] == 20
    # The simulator's TTFT is set: 2 ms against 60 ms, with wide margins for a busy box.
    assert by_url[fast.url]["time_to_first_token"]["p50"] < 30
    assert by_url[slow.url]["time_to_first_token"]["p50"] >= 55
    assert "Endpoints" in run.output


def test_a_sessions_turns_stay_on_one_endpoint(sim_server, profile):
    a, b = sim_server(), sim_server()
    run = profile("--url", a.url, "--url", b.url, *RUN, "--concurrency", "2",
                  "--num-sessions", "6", "--session-turns-mean", "3")

    assert run.exit_code == 0, run.output
    endpoints: dict[str, set[str]] = {}
    for r in records_of(run):
        endpoints.setdefault(r["metadata"]["conversation_id"], set()).add(
            r["metadata"]["endpoint_url"])
    assert len(endpoints) == 6
    assert all(len(urls) == 1 for urls in endpoints.values())
    assert Counter(next(iter(u)) for u in endpoints.values()) == {a.url: 3, b.url: 3}


def test_random_strategy_reaches_every_endpoint(sim_server, profile):
    a, b = sim_server(), sim_server()
    run = profile("--url", a.url, "--url", b.url, *RUN, "--url-strategy", "random",
                  "--concurrency", "4", "--request-count", "60")

    assert run.exit_code == 0, run.output
    tags = Counter(r["metadata"]["endpoint_url"] for r in records_of(run))
    assert sum(tags.values()) == 60
    assert min(tags.values()) >= 15  # binomial(60, 1/2): below 15 has odds of 1 in 10^4


def test_one_endpoint_leaves_records_and_summary_as_before(sim_server, profile):
    server = sim_server()
    run = profile("--url", server.url, *RUN, "--request-count", "5")

    assert run.exit_code == 0, run.output
    assert "endpoint_url" not in records_of(run)[0]["metadata"]
    assert "endpoints" not in run.read().summary()


def test_an_endpoint_given_twice_is_an_input_error(sim_server, profile):
    server = sim_server()
    run = profile("--url", server.url, "--url", server.url, *RUN, "--request-count", "5")

    assert run.exit_code == 2
    assert "given twice" in run.output


def test_an_unreachable_second_endpoint_stops_the_run_before_it_starts(sim_server, profile,
                                                                       free_port):
    server = sim_server()
    run = profile("--url", server.url, "--url", f"http://127.0.0.1:{free_port()}", *RUN,
                  "--request-count", "5")

    assert run.exit_code == 1
    assert "cannot reach" in run.output
    assert server.stats(records=False)["totals"]["requests"] == 0


def test_passwords_of_any_endpoint_stay_out_of_the_artifacts(sim_server, profile, tmp_path):
    a, b = sim_server(), sim_server()
    second = b.url.replace("http://", "http://user:hunter2-secret@")
    run = profile("--url", a.url, "--url", second, *RUN, "--request-count", "4",
                  "--artifact-dir", str(tmp_path / "run"))

    assert run.exit_code == 0, run.output
    assert "hunter2-secret" not in run.output
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert b"hunter2-secret" not in path.read_bytes(), path.name
