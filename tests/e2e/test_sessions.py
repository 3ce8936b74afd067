"""Multi-turn sessions against the simulator: every turn sends the whole history, so the
prompt grows turn by turn and the prefix cache makes later turns cheaper per prompt
token; the session id travels in the header; the run ends when every session is done."""

from __future__ import annotations

import collections
import json

REALISTIC = dict(mode="realistic", jitter=0, base_ttft_ms=5, prefill_ms_per_token=0.2,
                 base_itl_ms=1, itl_ms_per_seq=0, osl=8)
RUN = ("--model", "m", "--streaming", "--ui", "none", "--prompt-sizing", "builtin",
       "--no-server-metrics", "--no-gpu-telemetry", "--isl", "64", "--osl", "8")


def test_later_turns_carry_more_prompt_and_cost_less_per_prompt_token(sim_server, profile,
                                                                      tmp_path):
    server = sim_server(**REALISTIC)
    run = profile("--url", server.url, *RUN, "--num-sessions", "4", "--session-turns-mean",
                  "4", "--concurrency", "2", "--artifact-dir", str(tmp_path / "s"))
    assert run.exit_code == 0, run.output
    summary = run.read().summary()
    turns = summary["sessions"]["by_turn"]

    assert summary["sessions"]["count"] == 4
    assert [t["requests"] for t in turns] == [4, 4, 4, 4]
    isl = [t["input_sequence_length_avg"] for t in turns]
    per_token = [t["time_to_first_token_avg"] / t["input_sequence_length_avg"] for t in turns]
    assert isl == sorted(isl) and isl[-1] > 3 * isl[0]
    assert per_token == sorted(per_token, reverse=True)
    assert turns[-1]["cached_tokens_avg"] > 0


def test_each_turn_is_recorded_with_its_session_and_index(sim_server, profile, tmp_path):
    server = sim_server(**REALISTIC)
    run = profile("--url", server.url, *RUN, "--num-sessions", "3", "--session-turns-mean",
                  "2", "--concurrency", "3", "--session-header", "X-Session-ID",
                  "--artifact-dir", str(tmp_path / "r"))
    assert run.exit_code == 0, run.output
    lines = [json.loads(x) for x in
             (tmp_path / "r" / "profile_export.jsonl").read_text().splitlines()]
    turns = collections.defaultdict(list)
    for line in lines:
        turns[line["metadata"]["conversation_id"]].append(line["metadata"]["turn_index"])
    by_session = collections.Counter(r["session_id"] for r in server.stats()["records"])

    assert sorted(sorted(t) for t in turns.values()) == [[0, 1]] * 3
    assert sorted(by_session.values()) == [2, 2, 2]
    assert set(by_session) == set(turns)  # the header carried the session id


def test_sessions_in_flight_are_the_concurrency(sim_server, profile, tmp_path):
    server = sim_server(**REALISTIC)
    run = profile("--url", server.url, *RUN, "--num-sessions", "6", "--session-turns-mean",
                  "3", "--concurrency", "2", "--session-turn-delay-mean", "5",
                  "--artifact-dir", str(tmp_path / "c"))
    assert run.exit_code == 0, run.output

    assert server.stats(records=False)["concurrency"]["max_in_flight"] <= 2
    assert run.read().summary()["request_count"]["avg"] == 18


def test_a_file_of_conversations_is_had_turn_by_turn_as_written(sim_server, profile,
                                                                tmp_path):
    talks = tmp_path / "talks.jsonl"
    talks.write_text("\n".join(json.dumps(t) for t in (
        {"session_id": "a", "turns": [{"text": "hello there"}, {"text": "and then",
                                                                 "delay": 10}]},
        {"session_id": "b", "turns": [{"texts": ["one", "two"]}, {"text": "three"},
                                      {"text": "four"}]},
    )) + "\n", encoding="utf-8")
    server = sim_server(**REALISTIC)
    run = profile("--url", server.url, "--model", "m", "--streaming", "--ui", "none",
                  "--no-server-metrics", "--no-gpu-telemetry", "--custom-dataset-type",
                  "multi_turn", "--input-file", str(talks), "--concurrency", "2",
                  "--artifact-dir", str(tmp_path / "f"))
    assert run.exit_code == 0, run.output
    summary = run.read().summary()
    lines = [json.loads(x) for x in
             (tmp_path / "f" / "profile_export.jsonl").read_text().splitlines()]
    by_session: dict = collections.defaultdict(list)
    for line in sorted(lines, key=lambda x: x["metadata"]["turn_index"]):
        by_session[line["metadata"]["conversation_id"]].append(
            line["metrics"]["input_sequence_length"]["value"])

    assert summary["request_count"]["avg"] == 5  # every turn of both, and no more
    assert summary["sessions"]["count"] == 2
    assert sorted(len(v) for v in by_session.values()) == [2, 3]
    # Each turn carries the history: the prompts grow within each conversation.
    assert all(v == sorted(v) and v[-1] > v[0] for v in by_session.values())


def test_each_session_is_summed_up_by_its_turns_and_its_duration(sim_server, profile,
                                                                 tmp_path):
    server = sim_server(**REALISTIC)
    # 3 turns with 50 ms of think time between them: each session lasts over 100 ms.
    run = profile("--url", server.url, *RUN, "--num-sessions", "4", "--session-turns-mean",
                  "3", "--session-turn-delay-mean", "50", "--concurrency", "2",
                  "--artifact-dir", str(tmp_path / "d"))
    assert run.exit_code == 0, run.output
    sessions = run.read().summary()["sessions"]
    lines = [json.loads(x) for x in
             (tmp_path / "d" / "profile_export.jsonl").read_text().splitlines()]
    spans = collections.defaultdict(list)
    for line in lines:
        meta = line["metadata"]
        spans[meta["conversation_id"]] += [meta["request_start_ns"], meta["request_end_ns"]]
    durations_ms = sorted((max(s) - min(s)) / 1e6 for s in spans.values())

    assert (sessions["count"], sessions["unfinished"]) == (4, 0)
    assert (sessions["turns"]["min"], sessions["turns"]["max"]) == (3, 3)
    assert sessions["duration"]["min"] == durations_ms[0]
    assert sessions["duration"]["max"] == durations_ms[-1]
    assert durations_ms[0] > 100
    assert "sessions: 4 (0 unfinished)" in run.output
