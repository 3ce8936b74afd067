"""Never mix runs: a run into a directory holding an earlier run moves it aside first
(or, with ``--overwrite``, deletes it), touching only what aiperf wrote; the runs of one
experiment share one ``experiment_id`` (aiperf.bench.run_dir, aiperf.bench.experiment).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from aiperf.plot.discover import discover

SIM = "sim://?mode=deterministic&ttft_ms=1&itl_ms=0"


def args(run_dir: Path, *extra: str) -> list[str]:
    return ["--url", SIM, "--model", "m", "--request-count", "4", "--concurrency", "2",
            "--ui", "none", "--artifact-dir", str(run_dir), *extra]


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def siblings(run_dir: Path) -> list[Path]:
    """The directories an earlier run was moved aside to."""
    return sorted(run_dir.parent.glob(f"{run_dir.name}.*"))


def stamp(started: str) -> str:
    return dt.datetime.fromisoformat(started).strftime("%Y%m%d-%H%M%S")


def test_a_rerun_moves_the_earlier_run_aside_named_after_its_start_time(profile, tmp_path):
    run_dir = tmp_path / "run"
    assert profile(*args(run_dir)).exit_code == 0
    earlier = manifest(run_dir)
    rerun = profile(*args(run_dir))
    assert rerun.exit_code == 0, rerun.output
    aside = run_dir.parent / f"run.{stamp(earlier['started'])}"
    assert siblings(run_dir) == [aside]
    assert manifest(aside)["benchmark_id"] == earlier["benchmark_id"]
    assert manifest(run_dir)["benchmark_id"] != earlier["benchmark_id"]
    assert f"moved the earlier run in {run_dir} to {aside}" in rerun.stdout


def test_a_taken_sibling_name_gets_a_suffix(profile, tmp_path):
    run_dir = tmp_path / "run"
    assert profile(*args(run_dir)).exit_code == 0
    taken = run_dir.parent / f"run.{stamp(manifest(run_dir)['started'])}"
    taken.mkdir()
    assert profile(*args(run_dir)).exit_code == 0
    assert (taken.parent / f"{taken.name}-2" / "run.json").is_file()
    assert list(taken.iterdir()) == []


def test_a_rerun_of_trials_leaves_no_earlier_trial_behind(profile, tmp_path):
    run_dir = tmp_path / "exp"
    assert profile(*args(run_dir, "--num-profile-runs", "3")).exit_code == 0
    assert profile(*args(run_dir, "--num-profile-runs", "2")).exit_code == 0
    assert sorted(p.name for p in (run_dir / "profile_runs").iterdir()) == [
        "trial_0001", "trial_0002"]
    (aside,) = siblings(run_dir)
    assert len(list((aside / "profile_runs").iterdir())) == 3
    found = discover([run_dir])
    assert (found.mode, len(found.runs), found.notes) == ("trials", 2, ())


def test_a_single_run_after_trials_leaves_no_trials_behind(profile, tmp_path):
    run_dir = tmp_path / "exp"
    assert profile(*args(run_dir, "--num-profile-runs", "2")).exit_code == 0
    assert profile(*args(run_dir)).exit_code == 0
    assert not (run_dir / "profile_runs").exists()
    assert not (run_dir / "aggregate").exists()
    assert discover([run_dir]).mode == "single"


def test_overwrite_deletes_the_earlier_run_instead_of_moving_it(profile, tmp_path):
    run_dir = tmp_path / "exp"
    assert profile(*args(run_dir, "--num-profile-runs", "2")).exit_code == 0
    rerun = profile(*args(run_dir, "--overwrite"))
    assert rerun.exit_code == 0, rerun.output
    assert siblings(run_dir) == []
    assert not (run_dir / "profile_runs").exists()
    assert manifest(run_dir)["kind"] == "single"
    assert f"deleted the earlier run in {run_dir} (--overwrite)" in rerun.stdout


def test_a_users_file_stays_in_place_when_the_earlier_run_is_moved_aside(profile, tmp_path):
    run_dir = tmp_path / "exp"
    assert profile(*args(run_dir, "--num-profile-runs", "2")).exit_code == 0
    (run_dir / "NOTES.txt").write_text("mine", encoding="utf-8")
    (run_dir / "profile_runs" / "trial_0001" / "mine.txt").write_text("mine", encoding="utf-8")
    rerun = profile(*args(run_dir))
    assert rerun.exit_code == 0, rerun.output
    assert (run_dir / "NOTES.txt").read_text(encoding="utf-8") == "mine"
    assert (run_dir / "profile_runs" / "trial_0001" / "mine.txt").is_file()
    (aside,) = siblings(run_dir)
    assert not (aside / "NOTES.txt").exists()
    assert (aside / "profile_runs" / "trial_0001" / "run.json").is_file()
    assert "2 file(s) aiperf did not write stay" in rerun.stdout


def test_a_users_file_survives_overwrite(profile, tmp_path):
    run_dir = tmp_path / "exp"
    assert profile(*args(run_dir, "--num-profile-runs", "2")).exit_code == 0
    (run_dir / "NOTES.txt").write_text("mine", encoding="utf-8")
    assert profile(*args(run_dir, "--overwrite")).exit_code == 0
    assert (run_dir / "NOTES.txt").read_text(encoding="utf-8") == "mine"
    assert not (run_dir / "aggregate").exists()


def test_the_earlier_run_stays_when_the_new_one_cannot_start(profile, tmp_path, free_port):
    run_dir = tmp_path / "run"
    assert profile(*args(run_dir)).exit_code == 0
    earlier = manifest(run_dir)
    failed = profile(*args(run_dir), "--url", f"http://127.0.0.1:{free_port()}")
    assert failed.exit_code != 0
    assert manifest(run_dir) == earlier
    assert siblings(run_dir) == []


def test_every_trial_and_the_base_share_one_experiment_id(profile, tmp_path):
    run_dir = tmp_path / "exp"
    assert profile(*args(run_dir, "--num-profile-runs", "2")).exit_code == 0
    base = manifest(run_dir)
    assert base["kind"] == "experiment"
    assert base["files"]["profile_runs/trial_0001"] == "run"
    ids = {manifest(t)["experiment_id"] for t in (run_dir / "profile_runs").iterdir()}
    assert ids == {base["experiment_id"]}


def test_every_sweep_cell_and_the_base_share_one_experiment_id(profile, tmp_path):
    run_dir = tmp_path / "sweep"
    run = profile("--url", SIM, "--model", "m", "--request-count", "4", "--concurrency",
                  "1,2", "--ui", "none", "--artifact-dir", str(run_dir))
    assert run.exit_code == 0, run.output
    base = manifest(run_dir)
    cells = [p for p in run_dir.iterdir() if (p / "run.json").is_file()]
    assert len(cells) == 2
    assert {manifest(c)["experiment_id"] for c in cells} == {base["experiment_id"]}
    assert profile("--url", SIM, "--model", "m", "--request-count", "4", "--concurrency",
                   "1,2", "--ui", "none", "--artifact-dir", str(run_dir)).exit_code == 0
    (aside,) = siblings(run_dir)
    assert sorted(p.name for p in aside.iterdir()) == sorted(
        p.name for p in run_dir.iterdir())


def test_two_single_runs_have_different_experiment_ids(profile, tmp_path):
    assert profile(*args(tmp_path / "a")).exit_code == 0
    assert profile(*args(tmp_path / "b")).exit_code == 0
    ids = {manifest(tmp_path / name)["experiment_id"] for name in ("a", "b")}
    assert len(ids) == 2 and None not in ids
