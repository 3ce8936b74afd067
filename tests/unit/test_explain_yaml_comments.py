"""The resolved configuration written as YAML loads back even when a value holds a
control character: YAML refuses one anywhere, comments included, so comments escape it."""

from __future__ import annotations

from pathlib import Path

from aiperf.config.gather import load
from aiperf.explain import explain_yaml


def test_a_control_character_in_a_swept_value_is_escaped_in_comments(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "benchmark:\n  sweep:\n    type: scenarios\n    scenarios:\n      - name: odd\n"
        '        values:\n          benchmark.endpoint.url: "\\x1f"\n', encoding="utf-8")
    written = explain_yaml(load([config]), only_changed=True)
    again = tmp_path / "again.yaml"
    again.write_text(written, encoding="utf-8")

    assert "\x1f" not in written
    assert "\\u001f" in written
    assert load([again]).value("benchmark.sweep.scenarios") == [
        {"name": "odd", "values": {"benchmark.endpoint.url": "\x1f"}}]
