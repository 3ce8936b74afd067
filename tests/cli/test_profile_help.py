"""``aiperf profile --help``: what a user reading it needs, at an 80-column terminal.

The flags are derived from the field table (aiperf/cli/options.py), so these tests check
the derivation for every field rather than a hand-kept list.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from aiperf.cli import app
from aiperf.cli.options import FLAG_FIELDS
from aiperf.config.kinds import FloatKind, IntKind


@pytest.fixture(scope="module")
def help_text() -> str:
    """The help at 80 columns with no colour, as a plain terminal shows it."""
    result = CliRunner().invoke(app, ["profile", "--help"],
                                env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


def _row(help_text: str, flag: str) -> str:
    """The help row of ``flag`` with its continuation lines, joined by spaces."""
    lines = help_text.splitlines()
    # A flag with aliases is listed as "--flag,--alias".
    start = next(i for i, line in enumerate(lines)
                 if re.search(rf"│ {re.escape(flag)}[\s,]", line))
    row = [lines[start]]
    for line in lines[start + 1:]:
        if re.match(r"│ --", line) or not line.startswith("│"):
            break
        row.append(line)
    return " ".join(" ".join(line.strip("│ ").split()) for line in row)


def test_every_flag_name_is_shown_whole_at_80_columns(help_text):
    """No flag (nor its --no- form) is cut to ``--profile-export-pre…``."""
    names = set(re.findall(r"--[a-z0-9-]+", help_text))
    for field in FLAG_FIELDS:
        assert field.flag in names, field.flag
        if field.negative_flag:
            assert field.negative_flag in names, field.negative_flag
    assert [] == re.findall(r"--[a-z0-9-]+…", help_text)


def test_numeric_flags_show_their_number_type(help_text):
    """int and float fields show <int>/<float>, also where a comma list sweeps them."""
    for field in FLAG_FIELDS:
        if isinstance(field.kind, IntKind):
            assert "<int>" in _row(help_text, field.flag), field.flag
        elif isinstance(field.kind, FloatKind):
            assert "<float>" in _row(help_text, field.flag), field.flag


def test_flags_show_their_defaults(help_text):
    """A built-in default is named; a switch by the spelling that gives it."""
    assert "Default: 10." in _row(help_text, "--request-count")
    assert "Default: poisson." in _row(help_text, "--arrival")
    assert "Default: --no-streaming." in _row(help_text, "--streaming")


def test_enum_flags_list_their_choices(help_text):
    """Choices survive rich's markup (square brackets would be eaten as a style tag)."""
    assert "poisson, constant, or gamma" in _row(help_text, "--arrival")
    assert "dcgm" in _row(help_text, "--gpu-telemetry-collector")


@pytest.mark.parametrize("flag", ["--header", "--extra-inputs"])
def test_mapping_flags_show_the_key_value_format(help_text, flag):
    """Headers and extra inputs are given as K:V pairs, one per repeated flag."""
    row = _row(help_text, flag)
    assert "<K:V>" in row
    assert "Repeat the flag" in row


def test_api_key_names_its_environment_variable(help_text):
    """The key can (and usually should) come from OPENAI_API_KEY rather than argv."""
    assert "OPENAI_API_KEY" in _row(help_text, "--api-key")
