"""Prefix control against the simulator's prefix cache (token blocks, as vLLM caches
them): a shared prefix is cached for the configured share of each prompt and shortens
TTFT, unique prompts are not, and the per-run salt keeps two runs of one seed apart."""

from __future__ import annotations

import pytest

REALISTIC = dict(mode="realistic", jitter=0, base_ttft_ms=5, prefill_ms_per_token=0.2,
                 base_itl_ms=1, itl_ms_per_seq=0, osl=2)
RUN = ("--model", "m", "--streaming", "--osl", "2", "--concurrency", "1", "--ui", "none",
       "--prompt-sizing", "builtin", "--no-server-metrics", "--no-gpu-telemetry")


def summary_of(run) -> dict:
    assert run.exit_code == 0, run.output
    return run.read().summary()


def test_a_shared_prefix_is_cached_for_its_share_of_each_prompt(sim_server, profile,
                                                                tmp_path):
    server = sim_server(**REALISTIC)
    # 256 of each prompt's 320 tokens are the one pooled prefix: 80% after the first.
    run = profile("--url", server.url, *RUN, "--num-prefix-prompts", "1",
                  "--prefix-prompt-length", "256", "--isl", "64", "--request-count", "40",
                  "--artifact-dir", str(tmp_path / "shared"))
    summary = summary_of(run)

    assert summary["cache_hit_ratio"]["avg"] == pytest.approx(0.8 * 39 / 40, abs=0.05)
    assert summary["total_cached_tokens"]["avg"] == server.stats(records=False)[
        "totals"]["cached_tokens"]


def test_unique_prompts_are_not_cached_and_take_longer(sim_server, profile, tmp_path):
    server = sim_server(**REALISTIC)
    unique = summary_of(profile("--url", server.url, *RUN, "--isl", "320",
                                "--request-count", "20", "--artifact-dir", str(tmp_path / "u")))
    shared = summary_of(profile("--url", server.url, *RUN, "--num-prefix-prompts", "1",
                                "--prefix-prompt-length", "256", "--isl", "64",
                                "--request-count", "20", "--artifact-dir", str(tmp_path / "s")))

    assert unique["cache_hit_ratio"]["avg"] < 0.02
    # 0.2 ms per token of prefill: about 51 ms less for 256 cached tokens.
    assert (unique["time_to_first_token"]["avg"]
            - shared["time_to_first_token"]["avg"]) > 30


def test_the_salt_keeps_two_runs_of_one_seed_from_sharing_the_cache(sim_server, profile,
                                                                    tmp_path):
    server = sim_server(**REALISTIC)
    args = ("--url", server.url, *RUN, "--isl", "128", "--request-count", "10")
    summary_of(profile(*args, "--artifact-dir", str(tmp_path / "a")))
    salted = summary_of(profile(*args, "--artifact-dir", str(tmp_path / "b")))
    summary_of(profile(*args, "--no-prompt-salt", "--artifact-dir", str(tmp_path / "c")))
    unsalted = summary_of(profile(*args, "--no-prompt-salt",
                                  "--artifact-dir", str(tmp_path / "d")))

    assert salted["cache_hit_ratio"]["avg"] < 0.02
    assert unsalted["cache_hit_ratio"]["avg"] > 0.8


def test_a_shared_system_prompt_is_sent_and_cached(sim_server, profile, tmp_path):
    server = sim_server(**REALISTIC)
    summary = summary_of(profile("--url", server.url, *RUN, "--shared-system-prompt-length",
                                 "160", "--isl", "40", "--request-count", "20",
                                 "--artifact-dir", str(tmp_path / "sys")))

    assert summary["cache_hit_ratio"]["avg"] > 0.6
    assert summary["input_sequence_length"]["avg"] == 200  # 160 shared + 40 of its own
