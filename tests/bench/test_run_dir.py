"""Making room for a new run (aiperf.bench.run_dir) on small hand-made directories."""

from __future__ import annotations

import json
from pathlib import Path

from aiperf.bench.run_dir import clear_earlier_run


def earlier_run(directory: Path, files: dict[str, str], started: str | None = None) -> Path:
    """A directory with a run.json listing ``files`` (each written with some text)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in files:
        (directory / name).write_text("x", encoding="utf-8")
    manifest = {"kind": "single", "files": files, "experiment_id": "e",
                "started": started or "2026-03-12T14:15:03.000001+01:00"}
    (directory / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


def test_a_directory_without_run_json_is_left_alone(tmp_path):
    (tmp_path / "mine.txt").write_text("mine", encoding="utf-8")
    assert clear_earlier_run(tmp_path, overwrite=True) is None
    assert (tmp_path / "mine.txt").is_file()


def test_the_sibling_is_named_after_the_earlier_runs_own_start_time(tmp_path):
    run = earlier_run(tmp_path / "run", {"profile_export.jsonl": "records"})
    cleared = clear_earlier_run(run, overwrite=False)
    assert cleared is not None
    assert cleared.moved_to == tmp_path / "run.20260312-141503"
    assert sorted(p.name for p in cleared.moved_to.iterdir()) == [
        "profile_export.jsonl", "run.json"]
    assert list(run.iterdir()) == []


def test_a_listed_name_outside_the_directory_is_never_touched(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    run = earlier_run(tmp_path / "run", {})
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    manifest["files"] = {"../outside.txt": "records", str(outside): "records"}
    (run / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    clear_earlier_run(run, overwrite=True)
    assert outside.read_text(encoding="utf-8") == "keep"


def test_an_unreadable_run_json_still_clears_aiperfs_fixed_names_only(tmp_path):
    run = tmp_path / "run"
    (run / "profile_runs" / "trial_0001").mkdir(parents=True)
    (run / "profile_export.jsonl").write_text("x", encoding="utf-8")
    (run / "mine.txt").write_text("mine", encoding="utf-8")
    (run / "run.json").write_text("{not json", encoding="utf-8")
    cleared = clear_earlier_run(run, overwrite=True)
    assert cleared is not None and cleared.kept == 1
    assert sorted(p.name for p in run.iterdir()) == ["mine.txt"]


def test_a_listed_run_of_another_experiment_is_not_the_earlier_runs(tmp_path):
    base = earlier_run(tmp_path / "base", {})
    manifest = json.loads((base / "run.json").read_text(encoding="utf-8"))
    manifest.update(kind="experiment", files={"c1": "run"})
    (base / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    cell = earlier_run(base / "c1", {"profile_export.jsonl": "records"})
    data = json.loads((cell / "run.json").read_text(encoding="utf-8"))
    data["experiment_id"] = "someone else's"
    (cell / "run.json").write_text(json.dumps(data), encoding="utf-8")
    clear_earlier_run(base, overwrite=True)
    assert (cell / "profile_export.jsonl").is_file()
    assert not (base / "run.json").exists()
