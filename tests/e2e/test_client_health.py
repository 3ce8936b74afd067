"""The client-bound warning judges the client's delays by what they cost the run: silent on
the README's demo, and, on a client starved on purpose, naming the very figures the
summary holds."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

#: The README's first command, without --auto-plot (plotting comes after the verdict and
#: adds nothing to what is judged here).
README_DEMO = ("profile", "--url", "sim://", "--model", "demo-model", "--streaming",
               "--concurrency", "16", "--request-count", "200")


#: The warning's reasons about lag, and the client_health figures each one quotes.
REASONS = (
    (r"requests started (\d+\.\d) ms late on average: about (\d+)% of their latency",
     "scheduling_lag_avg_ms", "lag_share"),
    (r"the event loop woke (\d+\.\d) ms late on average \(responses were stamped "
     r"late\): about (\d+)% of the time to first token",
     "event_loop_lag_avg_ms", "loop_lag_share"),
)


def client_health(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "profile_export_aiperf.json").read_text())
    return summary["client_health"]


def test_the_readme_demo_gives_no_warning(aiperf_subprocess, tmp_path):
    proc = aiperf_subprocess(*README_DEMO, "--artifact-dir", str(tmp_path / "demo"))
    out, err = proc.communicate(timeout=300)

    assert 0 == proc.returncode, err
    assert "warning" not in (out + err).lower(), out + err
    health = client_health(tmp_path / "demo")
    assert (False, None) == (health["client_bound"], health["warning"])


@pytest.fixture
def busy_thread():
    """A thread spinning in this process: it takes the interpreter from the client's event
    loop every few milliseconds, as a heavy neighbour in the same process would."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    thread = threading.Thread(target=spin, name="busy-neighbour", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def test_a_starved_client_warns_with_the_figures_of_its_summary(profile, busy_thread,
                                                                tmp_path):
    run = profile("--url", "sim://?mode=deterministic&ttft_ms=4&itl_ms=1&osl=8",
                  "--model", "m", "--streaming", "--concurrency", "4",
                  "--request-count", "120", "--artifact-dir", str(tmp_path / "starved"),
                  "--ui", "none")

    assert 0 == run.exit_code, run.output
    health = client_health(tmp_path / "starved")
    warning = health["warning"]
    assert health["client_bound"] and warning, health
    assert warning in run.output  # the console says it too
    # Each reason the warning gives quotes the summary's own figures: (mean lag, share).
    found = [(match, avg, share) for pattern, avg, share in REASONS
             if (match := re.search(pattern, warning))]
    assert found, warning
    for match, avg, share in found:
        assert f"{health[avg]:.1f}" == match.group(1)
        assert f"{health[share]:.0%}" == match.group(2) + "%"
