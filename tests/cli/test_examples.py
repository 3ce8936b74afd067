"""Every YAML in examples/ is a configuration aiperf accepts as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiperf.config import load

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_resolves_without_a_problem(path: Path) -> None:
    resolved = load([path], {}, {})

    assert () == resolved.problems
