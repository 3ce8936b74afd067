"""Finding run directories for ``aiperf plot`` (aiperf.plot.discover), on real run files.

Two tiny runs are made once per module with the real CLI (``python -m aiperf profile``
against the built-in simulator); the NVIDIA AIPerf 0.13 fixture is copied before use
(it is read-only). Layouts are built by copying those directories around.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aiperf.bench.experiment import Experiment
from aiperf.plot.discover import Discovery, PlotInputError, discover

FIXTURE = Path(__file__).parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"
SIM = "sim://?mode=deterministic&ttft_ms=2&itl_ms=1"
NOT_FOUND = (
    "no run directories found (looked for run.json, or profile_export.jsonl with "
    "profile_export_aiperf.json)"
)


def _profile_runs(root: Path, runs: dict[str, list[str]]) -> dict[str, Path]:
    """Run ``python -m aiperf profile`` once per entry, side by side; return the run dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPERF_")}
    env["HOME"] = str(root / "home")
    children = {}
    for name, extra in runs.items():
        args = [sys.executable, "-m", "aiperf", "profile", "--model", "m", "--request-count",
                "8", "--concurrency", "2", "--ui", "none", "--artifact-dir", str(root / name),
                *extra]
        children[name] = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True)
    for child in children.values():
        output, _ = child.communicate(timeout=120)
        assert child.returncode == 0, output
    return {name: root / name for name in runs}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plain streaming run and one with ``--profile-export-prefix myexp``."""
    root = tmp_path_factory.mktemp("made")
    (root / "home").mkdir()
    return _profile_runs(root, {
        "plain": ["--url", SIM, "--streaming"],
        "prefixed": ["--url", SIM, "--profile-export-prefix", "myexp"],
    })


def copy_run(source: Path, target: Path, **manifest: object) -> Path:
    """Copy a run directory; ``manifest`` entries overwrite fields of its run.json."""
    shutil.copytree(source, target)
    if manifest:
        path = target / "run.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data.update(manifest)
        path.write_text(json.dumps(data), encoding="utf-8")
    return target


def experiment_base(base: Path, experiment_id: str) -> Path:
    """Write the run.json of an experiment's base directory, as ``aiperf profile`` does."""
    base.mkdir(parents=True, exist_ok=True)
    Experiment(base, experiment_id).write("complete", None)
    return base


def trials(made: dict[str, Path], base: Path, experiment_id: str | None,
           numbers: tuple[int, ...] = (1, 2)) -> None:
    """Copies of the plain run as trials ``numbers`` of ``base`` with ``experiment_id``."""
    for trial in numbers:
        copy_run(made["plain"], base / "profile_runs" / f"trial_000{trial}", kind="trial",
                 trial=trial, parent="../..", experiment_id=experiment_id)


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --------------------------------------------------------------------------- single runs


def test_our_run_is_a_single_run(made, tmp_path):
    run_dir = copy_run(made["plain"], tmp_path / "run")
    found = discover([run_dir])
    assert found.mode == "single"
    assert [r.path for r in found.runs] == [run_dir]
    assert found.runs[0].from_manifest
    assert found.base == run_dir
    assert found.name_of(found.runs[0]) == "run"


def test_a_relative_dot_path_is_named_after_the_directory(made, tmp_path, monkeypatch):
    run_dir = copy_run(made["plain"], tmp_path / "my-run")
    monkeypatch.chdir(run_dir)
    found = discover(["."])
    assert found.mode == "single"
    assert found.name_of(found.runs[0]) == "my-run"


def test_the_aiperf_013_fixture_is_found_without_run_json(tmp_path):
    run_dir = copy_run(FIXTURE, tmp_path / "single-chat-c4")
    assert not (run_dir / "run.json").exists()
    found = discover([tmp_path])
    assert found.mode == "single"
    (run,) = found.runs
    assert run.path == run_dir and not run.from_manifest
    assert found.name_of(run) == "single-chat-c4"


def test_a_custom_export_prefix_is_found_through_run_json(made, tmp_path):
    run_dir = copy_run(made["prefixed"], tmp_path / "prefixed")
    # The reference's fixed names are absent: only run.json says where the files are.
    assert not (run_dir / "profile_export.jsonl").exists()
    (run,) = discover([tmp_path]).runs
    assert run.records_path == run_dir / "myexp.jsonl"
    assert run.records_path.is_file()


# --------------------------------------------------------------------------- several runs


def test_trials_in_profile_runs_with_trial_manifests(made, tmp_path):
    base = experiment_base(tmp_path / "experiment", "e1")
    trials(made, base, "e1", (2, 1))
    found = discover([base])
    assert found.mode == "trials"
    assert [found.name_of(r) for r in found.runs] == [
        "profile_runs/trial_0001", "profile_runs/trial_0002"]
    assert found.notes == ()


def test_an_experiment_base_is_not_a_run_of_its_own(made, tmp_path):
    base = experiment_base(tmp_path / "experiment", "e1")
    trials(made, base, "e1")
    assert base not in [r.path for r in discover([base]).runs]


def test_trials_group_only_when_their_experiment_id_matches_the_base(made, tmp_path):
    base = experiment_base(tmp_path / "experiment", "new")
    trials(made, base, "new", (1, 2))
    trials(made, base, "old", (3,))
    found = discover([base])
    assert found.mode == "trials"
    assert [found.name_of(r) for r in found.runs] == [
        "profile_runs/trial_0001", "profile_runs/trial_0002"]


def test_a_stray_trial_of_an_earlier_experiment_is_ignored_with_a_note(made, tmp_path):
    base = experiment_base(tmp_path / "experiment", "new")
    trials(made, base, "new", (1, 2))
    trials(made, base, None, (3,))  # written before run.json had experiment ids
    found = discover([base])
    (note,) = found.notes
    assert note.startswith(f"ignored {base / 'profile_runs' / 'trial_0003'}: left over")
    assert "\n" not in note


def test_trials_are_not_grouped_by_folder_layout_alone(made, tmp_path):
    # A base without run.json (or trials without ids) cannot vouch for its trials.
    trials(made, tmp_path / "experiment", None)
    assert discover([tmp_path / "experiment"]).mode == "multi"


def test_reference_trials_are_recognised_by_their_profile_runs_folder(tmp_path):
    base = tmp_path / "experiment"
    for trial in (1, 2):
        copy_run(FIXTURE, base / "profile_runs" / f"run_000{trial}")
    found = discover([base])
    assert found.mode == "trials"
    assert all(r.manifest.kind == "single" for r in found.runs)


def test_trial_manifests_are_trials_wherever_the_runs_sit(made, tmp_path):
    for trial in (1, 2):
        copy_run(made["plain"], tmp_path / f"t{trial}", kind="trial", trial=trial,
                 experiment_id="e1")
    assert discover([tmp_path]).mode == "trials"


def test_trials_of_different_cells_are_several_experiments(made, tmp_path):
    for cell in ("concurrency_1", "concurrency_2"):
        copy_run(made["plain"], tmp_path / cell, kind="trial", trial=1, cell=cell)
    assert discover([tmp_path]).mode == "multi"


def test_runs_below_trial_folders_are_sweep_cells_not_trials(tmp_path):
    # REPEATED sweep layout: <base>/profile_runs/trial_NNNN/<cell>/
    for cell in ("c1", "c2"):
        copy_run(FIXTURE, tmp_path / "profile_runs" / "trial_0001" / cell)
    assert discover([tmp_path]).mode == "multi"


def test_two_sibling_runs_are_multi_sorted_by_path(made, tmp_path):
    copy_run(made["plain"], tmp_path / "b-run")
    copy_run(FIXTURE, tmp_path / "a-run")
    found = discover([tmp_path])
    assert found.mode == "multi"
    assert [found.name_of(r) for r in found.runs] == ["a-run", "b-run"]


def test_runs_from_several_paths_are_pooled_and_deduplicated(made, tmp_path):
    first = copy_run(made["plain"], tmp_path / "one")
    second = copy_run(FIXTURE, tmp_path / "two")
    found = discover([first, second, first, tmp_path])
    assert found.mode == "multi"
    assert [r.path for r in found.runs] == [first, second]
    assert found.base == first
    assert found.name_of(found.runs[0]) == "one"
    assert found.name_of(found.runs[1]) == "../two"


def test_plots_and_hidden_folders_are_not_walked(made, tmp_path):
    copy_run(made["plain"], tmp_path / "run")
    copy_run(FIXTURE, tmp_path / "run" / "plots" / "inner")
    copy_run(FIXTURE, tmp_path / ".cache" / "inner")
    found = discover([tmp_path])
    assert [found.name_of(r) for r in found.runs] == ["run"]


def test_a_plots_folder_given_explicitly_is_walked(tmp_path):
    copy_run(FIXTURE, tmp_path / "plots")
    assert discover([tmp_path / "plots"]).mode == "single"


def test_symlinks_are_followed_once(made, tmp_path):
    base = tmp_path / "base"
    copy_run(made["plain"], base / "run")
    (base / "loop").symlink_to(base, target_is_directory=True)
    (base / "again").symlink_to(base / "run", target_is_directory=True)
    found = discover([base])
    assert found.mode == "single"
    assert [found.name_of(r) for r in found.runs] == ["run"]  # the real path, not the link


# --------------------------------------------------------------------------- bad input


def test_a_mistyped_path_is_reported_and_nothing_is_created(made, tmp_path):
    good = copy_run(made["plain"], tmp_path / "run")
    before = tree(tmp_path)
    missing = tmp_path / "rnu"
    with pytest.raises(PlotInputError) as info:
        discover([good, missing])
    assert str(info.value) == f"{missing}: no such directory"
    assert tree(tmp_path) == before


def test_a_file_is_not_a_directory(made, tmp_path):
    path = copy_run(made["plain"], tmp_path / "run") / "run.json"
    with pytest.raises(PlotInputError, match="run.json: not a directory$"):
        discover([path])


def test_a_directory_without_runs_is_reported(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(PlotInputError) as info:
        discover([tmp_path / "empty"])
    assert str(info.value) == f"{tmp_path / 'empty'}: {NOT_FOUND}"
    assert tree(tmp_path / "empty") == ["sub"]


def test_every_path_must_hold_a_run(tmp_path):
    copy_run(FIXTURE, tmp_path / "run")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(PlotInputError, match="nothing: no run directories found"):
        discover([tmp_path / "run", tmp_path / "nothing"])


def test_no_path_at_all_is_bad_input():
    with pytest.raises(PlotInputError):
        discover([])


@pytest.mark.parametrize("content", ["{not json", '{"kind": "single"}', "[]"])
def test_a_broken_run_json_names_the_file(made, tmp_path, content):
    run_dir = copy_run(made["plain"], tmp_path / "run")
    (run_dir / "run.json").write_text(content, encoding="utf-8")
    with pytest.raises(PlotInputError) as info:
        discover([tmp_path])
    message = str(info.value)
    assert message.startswith(f"{run_dir / 'run.json'}: ")
    assert "\n" not in message


def test_one_broken_run_is_skipped_with_a_one_line_note(made, tmp_path):
    copy_run(made["plain"], tmp_path / "good")
    broken = copy_run(made["plain"], tmp_path / "broken")
    data = json.loads((broken / "run.json").read_text(encoding="utf-8"))
    del data["kind"]
    (broken / "run.json").write_text(json.dumps(data), encoding="utf-8")
    found = discover([tmp_path])
    assert [r.path for r in found.runs] == [tmp_path / "good"]
    (note,) = found.notes
    assert note.startswith(f"skipped {broken / 'run.json'}: ")
    assert "\n" not in note


def test_discovery_is_light():
    """discover must not pull in pandas, numpy or matplotlib (it runs before plotting)."""
    code = ("import sys, aiperf.plot.discover; "
            "print(sorted(m for m in ('pandas', 'numpy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_discovery_is_a_frozen_value(made, tmp_path):
    found = discover([copy_run(made["plain"], tmp_path / "run")])
    assert isinstance(found, Discovery)
    with pytest.raises(AttributeError):
        found.mode = "multi"  # type: ignore[misc]
