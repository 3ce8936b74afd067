"""Which plot config a plot run uses, and what it says.

The choice is made by the configuration engine (``rules/plot-config.yaml``): a file
named on the command line, then the run's materialized ``plot:`` envelope, then the
user's ``~/.aiperf/plot_config.yaml`` (``$AIPERF_HOME/plot_config.yaml``), then the
shipped default. On first use the home file is created holding only comments, so every
key, and the list of plots, keeps following the shipped defaults until the user sets it.
Which plots a config turns on is decided by the plot-selection table
(:func:`aiperf.config.plot_config.select_plots`), the same one ``config explain`` shows.
This module turns those decisions into a file and the file into :class:`PlotSettings`.
It never imports the plotting libraries.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from aiperf.config import model
from aiperf.config.plot_config import (
    ARTIFACT_DIR_PREFIX,
    PLOT_CONFIG_KEY,
    SELECTION_KEYS,
    home_plot_config_path,
    select_plots,
)
from aiperf.config.provenance import Provenance, Resolved

SHIPPED_DEFAULT = Path(__file__).with_name("default_plot_config.yaml")


@attrs.frozen
class PlotSettings:
    """A plot config with every key filled in, and where it came from."""

    values: model.PlotSettings
    #: The file read, or None for the built-in values.
    source: Path | None = None
    #: Why that file: the deciding rule and its reason, for the log and the console.
    reason: str = "built-in values"

    def wanted(self, names: Sequence[str]) -> tuple[str, ...]:
        """``names`` minus the excluded ones, in order."""
        return tuple(n for n in names if n not in self.values.exclude)


def settings_from(values: Mapping[str, Any], source: Path | None = None,
                  reason: str = "built-in values") -> PlotSettings:
    """PlotSettings from a plot config's typed values; missing keys take their defaults."""
    from aiperf.config.structure import plot_settings

    return PlotSettings(plot_settings(values), source, reason)


def config_file(provenance: Provenance, artifact_dir: Path,
                notice: Callable[[str], None] = lambda _: None,
                environ: Mapping[str, str] | None = None) -> Path:
    """The plot-config file the resolved ``benchmark.artifacts.plot_config`` names.

    ``<artifact_dir>/...`` is inside ``artifact_dir``; unset means the shipped default,
    whose commented template is written to the home plot config on first use (``notice``
    is told once, in one line) so the user has a file to edit.
    """
    value = provenance.value
    if value is None:
        return _home_copy(notice, environ)
    if value.startswith(ARTIFACT_DIR_PREFIX):
        return artifact_dir / value[len(ARTIFACT_DIR_PREFIX):]
    return Path(os.path.expanduser(value))


def _home_copy(notice: Callable[[str], None], environ: Mapping[str, str] | None) -> Path:
    from aiperf.artifacts.atomic import write_bytes_atomic

    home = home_plot_config_path(environ)
    if home.is_file():
        return home
    try:
        write_bytes_atomic(home, SHIPPED_DEFAULT.read_bytes())
    except OSError:
        return SHIPPED_DEFAULT  # no writable home: the shipped file serves as it is
    notice(f"created {home} (all comments: every setting follows the shipped defaults); "
           "edit it to change what every run draws")
    return home


def load_settings(resolved: Resolved, artifact_dir: Path, environ: Mapping[str, str],
                  notice: Callable[[str], None] = lambda _: None) -> PlotSettings:
    """The plot settings a run's plots use, read from the file the engine chose.

    Raises ``ConfigErrors`` (file, line, key) when that file is missing or invalid.
    """
    from aiperf.config.sources import read_plot_config_file

    provenance = resolved.provenance[PLOT_CONFIG_KEY]
    path = config_file(provenance, artifact_dir, notice, environ)
    values = read_plot_config_file(path, environ)
    reason = f"{provenance.because} [rule {provenance.rule.id}]"
    home = path == home_plot_config_path(environ)
    # The plots on are the plot-selection table's answer, not the file's raw lists.
    chosen = {key: list(select_plots(key, values, str(path), home=home).plots or ())
              for key in SELECTION_KEYS}
    return settings_from({**values, **chosen}, path, reason)
