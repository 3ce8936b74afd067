"""The home plot config follows the shipped defaults instead of freezing them.

Every test runs with HOME pointed at ``tmp_path/home`` (``tests/conftest.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aiperf.config import load
from aiperf.config import plot_config as pc
from aiperf.config.errors import ConfigErrors
from aiperf.plot.settings import SHIPPED_DEFAULT, load_settings

OLD_COPY = """\
theme: light
dpi: 150
width: 10
height: 6
single_run:
""" + "".join(f"  - {n}\n" for n in pc.FORMER_SHIPPED_SELECTIONS["single_run"][0]) + \
    "multi_run:\n" + "".join(f"  - {n}\n" for n in pc.FORMER_SHIPPED_SELECTIONS["multi_run"][0])


def _home_file(home: Path, text: str) -> Path:
    path = home / ".aiperf" / "plot_config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _plots(home: Path, tmp_path: Path, environ: dict[str, str] | None = None):
    environ = environ or {}
    return load_settings(load(environ=environ), tmp_path, environ).values


def test_first_use_file_holds_no_plot_list(home, tmp_path):
    """The file created on first use sets nothing: every line is a comment."""
    notices: list[str] = []
    load_settings(load(), tmp_path, {}, notices.append)

    text = (home / ".aiperf" / "plot_config.yaml").read_text(encoding="utf-8")
    assert all(not line.strip() or line.startswith("#") for line in text.splitlines())
    assert 1 == len(notices)


def test_shipped_template_names_every_catalogue_plot():
    """The commented examples in the first-use file list every shipped plot."""
    text = SHIPPED_DEFAULT.read_text(encoding="utf-8")

    assert [] == [n for n in pc.PLOT_NAMES if f"#   - {n}\n" not in text]


def test_plot_added_later_is_on_for_an_earlier_home_file(home, tmp_path, monkeypatch):
    """A plot the catalogue gains after the home file was created is drawn."""
    old = pc.SHIPPED_SELECTION["single_run"][:-1]
    monkeypatch.setitem(pc.SHIPPED_SELECTION, "single_run", old)
    load_settings(load(), tmp_path, {})  # first use, with the older catalogue
    monkeypatch.setitem(pc.SHIPPED_SELECTION, "single_run", pc.SINGLE_RUN_PLOTS)

    assert pc.SINGLE_RUN_PLOTS == _plots(home, tmp_path).single_run


def test_exclude_turns_one_plot_off_and_keeps_the_rest(home, tmp_path):
    """exclude: in the home file drops that plot; the shipped others stay on."""
    _home_file(home, "exclude:\n  - trial_spread\n")

    expected = tuple(n for n in pc.SINGLE_RUN_PLOTS if n != "trial_spread")
    assert expected == _plots(home, tmp_path).single_run
    assert pc.MULTI_RUN_PLOTS == _plots(home, tmp_path).multi_run


def test_pinned_list_is_honoured(home, tmp_path):
    """A single_run: list that is not a former shipped copy means "only these"."""
    _home_file(home, "single_run:\n  - itl_over_time\n  - ttft_over_time\n")

    assert ("itl_over_time", "ttft_over_time") == _plots(home, tmp_path).single_run
    assert "plot-selection-pinned" == load().provenance["plot.single_run"].rule.id


def test_former_full_copy_reads_as_the_shipped_selection(home, tmp_path, monkeypatch):
    """An earlier release's full copy follows today's catalogue, with one note per kind."""
    _home_file(home, OLD_COPY)
    grown = (*pc.SINGLE_RUN_PLOTS, "brand_new_plot")
    monkeypatch.setitem(pc.SHIPPED_SELECTION, "single_run", grown)
    resolved = load()

    assert grown == _plots(home, tmp_path).single_run
    assert ["plot.multi_run", "plot.single_run"] == sorted(
        n.about for n in resolved.notes if n.id == "plot-selection-former-copy")


def test_explain_names_the_home_file_line_that_decided(home):
    """config explain gives the selection's rule and the home file line of exclude:."""
    path = _home_file(home, "theme: dark\nexclude:\n  - trial_spread\n")
    p = load().provenance["plot.single_run"]

    assert "plot-selection-shipped" == p.rule.id
    assert f"your {path}:2:1" == p.origin.describe()
    assert "minus trial_spread" in p.because


def test_explain_names_the_envelope_as_origin(write_yaml):
    """A plot: envelope's pinned list is the origin, with its file and line."""
    path = write_yaml("plot:\n  multi_run:\n    - pareto_frontier\n")
    p = load([path]).provenance["plot.multi_run"]

    assert ("pareto_frontier",) == p.value
    assert ("envelope", str(path), 2) == (p.origin.scope, p.origin.source, p.origin.line)


def test_explain_says_shipped_when_nothing_is_given():
    """With no plot config at all, the selection is the shipped one."""
    p = load().provenance["plot.single_run"]

    assert ("default", "plot-selection-shipped") == (p.origin.scope, p.rule.id)
    assert pc.SINGLE_RUN_PLOTS == p.value


def test_plot_config_flag_file_is_read_for_the_selection(tmp_path):
    """--plot-config FILE decides the selection, its lines named."""
    path = tmp_path / "mine.yaml"
    path.write_text("exclude:\n  - pareto_frontier\n", encoding="utf-8")
    p = load(cli={pc.PLOT_CONFIG_KEY: str(path)}).provenance["plot.multi_run"]

    assert "pareto_frontier" not in p.value
    assert f"{path}:1:1" == p.origin.describe()


def test_a_plot_config_that_does_not_exist_yet_is_read_when_plotted(tmp_path):
    """A saved configuration still loads after its plot config moved; plotting says so."""
    path = tmp_path / "gone.yaml"
    p = load(cli={pc.PLOT_CONFIG_KEY: str(path)}).provenance["plot.single_run"]

    assert (None, "plot-selection-missing") == (p.value, p.rule.id)
    assert f"{path} does not exist (yet)" in p.because


def test_bad_home_file_names_file_line_and_key(home):
    """A typo in the home file is an error naming file, line and key."""
    path = _home_file(home, "theme: light\nsingle_run:\n  - no_such_plot\n")
    with pytest.raises(ConfigErrors) as e:
        load()

    [err] = e.value.errors
    assert (str(path), 3, "single_run") == (err.file, err.line, err.key)


def test_aiperf_home_moves_the_home_plot_config(tmp_path, home):
    """AIPERF_HOME moves the file that is created and read."""
    elsewhere = tmp_path / "elsewhere"
    environ = {pc.AIPERF_HOME_ENV: str(elsewhere)}
    settings = load_settings(load(environ=environ), tmp_path, environ)

    assert elsewhere / "plot_config.yaml" == settings.source
    assert not (home / ".aiperf").exists()
