"""`aiperf config ...` and `aiperf recipes ...` end to end, through the real typer app."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from aiperf._resources import schemas_dir
from aiperf.cli import app

runner = CliRunner()

ENVELOPE_AT_LINE_7 = """\
benchmark:
  endpoint:
    model: llama
  load:
    concurrency: 8
# the plot envelope sits on line 7
plot:
  theme: dark
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def x_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write(tmp_path / "x.yaml", ENVELOPE_AT_LINE_7)


def test_explain_names_the_envelope_line_and_the_rule(x_yaml):
    """explain for auto_plot says true, because of the envelope at x.yaml:7, and names the rule."""
    result = run("config", "explain", "-f", "x.yaml", "benchmark.artifacts.auto_plot")

    assert 0 == result.exit_code
    out = result.output
    assert out.startswith("benchmark.artifacts.auto_plot = true")
    assert "plot-envelope-implies-auto-plot" in out
    assert "rules/auto-plot.yaml:" in out
    assert "envelope is present at x.yaml:7" in out
    assert "not given" in out and "not set" in out
    assert "to change" in out


def test_explain_reports_plot_required_dormant(x_yaml):
    """--plot-required without auto-plot is explained as dormant."""
    result = run("config", "explain", "--plot-required", "--no-auto-plot", "-f", "x.yaml",
                 "benchmark.artifacts.plot_required")

    assert 0 == result.exit_code
    assert "plot_required is dormant" in result.output


def test_explain_leaves_a_breadcrumb_when_envelope_is_switched_off(x_yaml):
    """A plot: envelope with --no-auto-plot gets the info breadcrumb."""
    result = run("config", "explain", "-f", "x.yaml", "--no-auto-plot",
                 "benchmark.artifacts.auto_plot")

    assert 0 == result.exit_code
    assert "info:" in result.output
    assert "plots will not render" in result.output


def test_explain_json_matches_its_schema(x_yaml):
    """--format json is valid against schemas/explain.schema.json."""
    result = run("config", "explain", "-f", "x.yaml", "--search-recipe", "concurrency-ramp",
                 "--format", "json")
    schema = json.loads((schemas_dir() / "explain.schema.json").read_text())

    doc = json.loads(result.output)
    jsonschema.validate(doc, schema)
    assert "concurrency-ramp" == doc["recipe"]


def test_explain_yaml_resolves_back_to_the_same_values(x_yaml, tmp_path):
    """--format yaml is a config file that resolves to the same values (secrets aside)."""
    first = run("config", "explain", "-f", "x.yaml", "--search-recipe", "concurrency-ramp",
                "--header", "X-Trace:1", "--format", "yaml")
    write(tmp_path / "round.yaml", first.output)
    again = run("config", "explain", "-f", "round.yaml", "--format", "json")
    before = run("config", "explain", "-f", "x.yaml", "--search-recipe", "concurrency-ramp",
                 "--header", "X-Trace:1", "--format", "json")

    values = lambda r: {f["key"]: f["value"] for f in json.loads(r.output)["fields"]}  # noqa: E731
    expected = {k: v for k, v in values(before).items() if k != "benchmark.endpoint.headers"}
    actual = {k: v for k, v in values(again).items() if k != "benchmark.endpoint.headers"}
    assert expected == actual


def test_explain_yaml_has_an_origin_comment_per_value(x_yaml):
    """Every field's line in the YAML format carries an origin comment."""
    from aiperf.config.fields import FIELDS

    out = run("config", "explain", "-f", "x.yaml", "--search-recipe", "pareto-sweep",
              "--format", "yaml").output
    lines = out.splitlines()
    field_lines = [
        line for line in lines for f in FIELDS
        if line.startswith("  " * (len(f.yaml_path) - 1) + f.yaml_path[-1] + ":")
    ]

    assert len(field_lines) > 20
    assert all("  # " in line for line in field_lines)
    # pareto-sweep drives concurrency, so the file's 8 is only the base and says so.
    assert ("    concurrency: 8  # x.yaml:5:5 [concurrency-yaml]; only outside the sweep: the "
            "cells run 1, 4, 16, 64 (recipe pareto-sweep: each isl/osl pair at each "
            "concurrency of its grid)") in lines


def test_secrets_are_never_shown(tmp_path, monkeypatch):
    """api_key and header values appear as *** (or not at all) in explain and show."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "s.yaml", """\
        benchmark:
          endpoint:
            api_key: sk-very-secret
            headers:
              Authorization: Bearer hunter2
        """)
    outputs = [
        run("config", "explain", "-f", "s.yaml").output,
        run("config", "explain", "-f", "s.yaml", "benchmark.endpoint").output,
        run("config", "explain", "-f", "s.yaml", "--format", "json").output,
        run("config", "explain", "-f", "s.yaml", "--format", "yaml").output,
        run("config", "show", "-f", "s.yaml").output,
        run("config", "explain", "--api-key", "sk-flag-secret",
            "benchmark.endpoint.api_key").output,
    ]

    for out in outputs:
        assert "sk-very-secret" not in out and "hunter2" not in out and "sk-flag-secret" not in out
    assert "***" in outputs[0]


def test_only_changed_lists_only_non_defaults(x_yaml):
    """--only-changed leaves out fields at their built-in default."""
    out = run("config", "explain", "-f", "x.yaml", "--only-changed").output

    assert "benchmark.load.concurrency" in out
    assert "benchmark.load.request_count" not in out


def test_unknown_key_gets_did_you_mean(x_yaml):
    """A misspelt KEY is an error with a suggestion, exit 2."""
    result = run("config", "explain", "benchmark.artifacts.autoplot")

    assert 2 == result.exit_code
    assert "did you mean 'benchmark.artifacts.auto_plot'" in result.output


def test_validate_reports_every_error_of_every_file(tmp_path, monkeypatch):
    """validate lists all problems from all files with file:line:column, exit 2."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.yaml", """\
        benchmark:
          load:
            concurency: 4
            request_count: 0
        """)
    write(tmp_path / "b.yaml", """\
        benchmark:
          artifacts:
            auto_plot: maybe
        """)
    result = run("config", "validate", "-f", "a.yaml", "-f", "b.yaml")

    assert 2 == result.exit_code
    assert "a.yaml:3:5: benchmark.load.concurency: unknown key 'concurency'" in result.output
    assert "did you mean 'concurrency'?" in result.output
    assert "a.yaml:4:5: benchmark.load.request_count" in result.output
    assert "b.yaml:3:5: benchmark.artifacts.auto_plot: expected a boolean" in result.output
    assert "3 errors" in result.output


def test_validate_accepts_a_good_file(x_yaml):
    """validate says valid and exits 0 on a good file."""
    result = run("config", "validate", "-f", "x.yaml")

    assert 0 == result.exit_code
    assert "valid: x.yaml" in result.output


def test_constraint_problem_fails_validate(tmp_path, monkeypatch):
    """A request rate beside a concurrency-driving recipe is reported at its line."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "c.yaml", """\
        benchmark:
          load:
            request_rate: 5
          search:
            recipe: concurrency-ramp
        """)
    result = run("config", "validate", "-f", "c.yaml")

    assert 2 == result.exit_code
    assert ("c.yaml:3:5: benchmark.load.request_rate: recipe concurrency-ramp drives"
            in result.output)


def test_bad_input_exits_2_without_traceback(tmp_path):
    """A real subprocess: bad YAML gives a short message on stderr, exit 2, no traceback."""
    write(tmp_path / "bad.yaml", "benchmark:\n\tload: 1\n")
    proc = subprocess.run([sys.executable, "-m", "aiperf", "config", "explain", "-f", "bad.yaml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert 2 == proc.returncode
    assert "bad.yaml:2:1" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.splitlines()) < 10


def test_unknown_recipe_lists_known_ones(x_yaml):
    """An unknown --search-recipe names the flag and lists every known recipe."""
    result = run("config", "explain", "--search-recipe", "concurency-ramp")

    assert 2 == result.exit_code
    assert "unknown recipe 'concurency-ramp'" in result.output
    assert "did you mean 'concurrency-ramp'?" in result.output
    assert "pareto-sweep" in result.output


def test_bad_flag_value_is_a_clear_error(x_yaml):
    """A flag value that breaks its field's constraint is reported against the flag."""
    result = run("config", "explain", "--concurrency", "0")

    assert 2 == result.exit_code
    assert "--concurrency" in result.output
    assert "expected an integer >= 1" in result.output


def test_goodput_flag_parses_slos(x_yaml):
    """--goodput 'tag:value ...' becomes benchmark.slos."""
    out = run("config", "explain", "--goodput", "time_to_first_token:200 inter_token_latency:20",
              "--format", "json").output
    slos = next(f for f in json.loads(out)["fields"] if f["key"] == "benchmark.slos")

    assert {"time_to_first_token": 200.0, "inter_token_latency": 20.0} == slos["value"]


def test_explain_says_the_max_error_rate_is_a_built_in_1_percent(x_yaml):
    """Nothing given: every sweep cell and probe may fail 1% of its requests, by default."""
    out = run("config", "explain", "benchmark.search.max_error_rate").output

    assert out.startswith("benchmark.search.max_error_rate = 0.01")
    assert "rule built-in-default" in out
    assert "pass --max-error-rate" in out


def test_explain_says_the_max_error_rate_flag_decided_it(x_yaml):
    """--max-error-rate 0.05 wins, and explain names the flag."""
    out = run("config", "explain", "--max-error-rate", "0.05",
              "benchmark.search.max_error_rate").output

    assert out.startswith("benchmark.search.max_error_rate = 0.05")
    assert "command-line flag --max-error-rate was given" in out


def test_a_max_error_rate_above_1_is_a_clear_error(x_yaml):
    """The limit is a fraction: 5 (meant as 5%) is refused, naming the flag."""
    result = run("config", "explain", "--max-error-rate", "5")

    assert 2 == result.exit_code
    assert "--max-error-rate" in result.output
    assert "expected a number <= 1" in result.output


def test_environment_variable_beats_yaml(x_yaml, monkeypatch):
    """AIPERF_CONCURRENCY outranks the YAML file and explain names the variable."""
    monkeypatch.setenv("AIPERF_CONCURRENCY", "12")
    out = run("config", "explain", "-f", "x.yaml", "benchmark.load.concurrency").output

    assert out.startswith("benchmark.load.concurrency = 12")
    assert "environment variable AIPERF_CONCURRENCY" in out


def test_schema_command_prints_json(x_yaml):
    """config schema prints valid JSON Schemas by name."""
    for name in ("config", "explain", "plot-config", "rules"):
        result = run("config", "schema", name)
        assert 0 == result.exit_code
        assert json.loads(result.output)["$schema"].startswith("https://json-schema.org/")


def test_recipes_list_shows_auto_plot_defaults():
    """recipes list shows all eight built-ins with their auto_plot_default."""
    out = run("recipes", "list").output
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:] if line.strip()}

    assert "true" == rows["concurrency-ramp"]
    assert "true" == rows["prefill-ttft-curve"]
    assert "true" == rows["decode-itl-curve"]
    for name in ("max-throughput-ttft-sla", "max-throughput-itl-sla", "max-concurrency-under-sla",
                 "max-goodput-under-slo", "pareto-sweep"):
        assert "unset" == rows[name]


def test_recipes_show_lists_requirements():
    """recipes show names what a recipe needs and the flag that sets it."""
    out = run("recipes", "show", "max-throughput-ttft-sla").output

    assert "benchmark.search.ttft_sla_ms" in out
    assert "--ttft-sla-ms" in out


def test_help_lists_profile_flags():
    """config explain --help lists the shared profile flags."""
    out = run("config", "explain", "--help").output

    for flag in ("--auto-plot", "--no-auto-plot", "--plot-required", "--search-recipe",
                 "--concurrency", "--url", "--model"):
        assert flag in out


def test_negative_flag_is_named_as_typed(x_yaml):
    """--no-auto-plot is reported as --no-auto-plot, not as --auto-plot."""
    out = run("config", "explain", "--no-auto-plot", "benchmark.artifacts.auto_plot").output

    assert "command-line flag --no-auto-plot was given" in out


def test_every_boolean_flag_has_a_negative_spelling():
    """Tri-state boolean flags need both spellings so "not given" stays distinct."""
    from aiperf.config.fields import FIELDS
    from aiperf.config.kinds import BoolKind

    missing = [f.key for f in FIELDS if isinstance(f.kind, BoolKind) and f.flag
               and not f.negative_flag]

    assert [] == missing


def test_explain_a_past_run_from_its_explain_json(x_yaml, tmp_path):
    """config explain DIR KEY explains a run from the explain.json it wrote, origins intact."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    recorded = run("config", "explain", "-f", "x.yaml", "--search-recipe", "concurrency-ramp",
                   "--format", "json").output
    (run_dir / "explain.json").write_text(recorded, encoding="utf-8")

    out = run("config", "explain", str(run_dir), "benchmark.artifacts.auto_plot").output

    assert out.startswith("benchmark.artifacts.auto_plot = true")
    assert "envelope is present at x.yaml:7" in out
    assert "recipe: concurrency-ramp (built-in)" in out


def test_explain_a_past_run_json_round_trips(x_yaml, tmp_path):
    """A past run's JSON explanation equals the one recorded at run time."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    recorded = run("config", "explain", "-f", "x.yaml", "--api-key", "sk-x", "--format",
                   "json").output
    (run_dir / "explain.json").write_text(recorded, encoding="utf-8")

    again = run("config", "explain", str(run_dir), "--format", "json").output

    assert json.loads(recorded) == json.loads(again)
    assert "sk-x" not in again


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path, monkeypatch):
    """A directory without explain.json is refused with exit 2 and a hint."""
    monkeypatch.chdir(tmp_path)
    result = run("config", "explain", str(tmp_path))

    assert 2 == result.exit_code
    assert "is not an aiperf run directory" in result.output


def test_explain_shows_a_swept_field_as_what_its_cells_run():
    """--concurrency 2,8: explain leads with the cells' whole-number values, and labels the
    single resolved value as the one outside the sweep."""
    result = run("config", "explain", "--concurrency", "2,8", "benchmark.load.concurrency")

    assert 0 == result.exit_code
    lines = result.output.splitlines()
    assert lines[0] == ("benchmark.load.concurrency = swept: 2, 8 (grid sweep from "
                        "--concurrency), each cell resolved with its value as a layer of its own")
    assert lines[1].startswith("  unswept      1 (the value outside the sweep), decided by rule "
                               "concurrency-default")
    assert "  to change    change the swept values (grid sweep from --concurrency)" in lines
    assert "2.0" not in result.output


def test_explain_listing_shows_a_swept_field_and_integer_sweep_values():
    """The one-line-per-field listing shows the swept values, never floats for a count."""
    out = run("config", "explain", "--concurrency", "2,8").output

    assert ("benchmark.load.concurrency                swept: 2, 8               grid sweep "
            "from --concurrency [sweep]") in out.splitlines()
    assert "benchmark.load.concurrency=[2, 8]" in out


def test_explain_json_gives_a_swept_fields_values_as_integers():
    """--format json: the field's ``swept`` block carries the cells' values as integers."""
    result = run("config", "explain", "--concurrency", "2,8", "--format", "json",
                 "benchmark.load.concurrency", "benchmark.sweep.parameters")
    doc = json.loads(result.output)
    jsonschema.validate(doc, json.loads((schemas_dir() / "explain.schema.json").read_text()))
    fields = {f["key"]: f for f in doc["fields"]}

    assert {"values": [2, 8], "by": "grid sweep from --concurrency",
            "text": "swept: 2, 8 (grid sweep from --concurrency), each cell resolved with its "
                    "value as a layer of its own"} == fields["benchmark.load.concurrency"]["swept"]
    assert {"benchmark.load.concurrency": [2, 8]} == fields["benchmark.sweep.parameters"]["value"]
    assert fields["benchmark.sweep.parameters"]["swept"] is None


def test_explain_yaml_comments_a_swept_field_and_writes_integer_sweep_values():
    """--format yaml: a swept field's unswept default is a comment saying what the cells
    run (a value would load back as the user's own), and the sweep's values are whole."""
    lines = run("config", "explain", "--concurrency", "2,8", "--format", "yaml").output.splitlines()

    assert ("# benchmark.load.concurrency: 1  # built-in default [concurrency-default]; only "
            "outside the sweep: the cells run 2, 8 (grid sweep from --concurrency)") in lines
    assert ["        - 2", "        - 8"] == lines[lines.index(
        '      "benchmark.load.concurrency":') + 1:][:2]


def test_explain_yaml_of_a_concurrency_recipe_loads_back_without_error(tmp_path, monkeypatch):
    """The YAML explain writes for concurrency-ramp does not pin the concurrency the recipe
    drives, so it loads back valid (rule concurrency-with-concurrency-recipe stays quiet)."""
    monkeypatch.chdir(tmp_path)
    written = run("config", "explain", "--search-recipe", "concurrency-ramp", "--format", "yaml")
    write(tmp_path / "r.yaml", written.output)

    again = run("config", "validate", "-f", "r.yaml")

    assert "benchmark.load.concurrency" not in again.output
    assert "drives concurrency itself" not in again.output


def test_explain_a_past_sweep_shows_what_its_cells_ran(tmp_path):
    """The explain.json a sweep records keeps the swept values, so explaining the sweep's
    directory later says the same."""
    run_dir = tmp_path / "sweep"
    run_dir.mkdir()
    recorded = run("config", "explain", "--concurrency", "2,8", "--format", "json").output
    (run_dir / "explain.json").write_text(recorded, encoding="utf-8")

    out = run("config", "explain", str(run_dir), "benchmark.load.concurrency").output

    assert out.startswith("benchmark.load.concurrency = swept: 2, 8 (grid sweep from "
                          "--concurrency)")


def test_concurrency_with_concurrency_recipe(tmp_path, monkeypatch):
    """Rule concurrency-with-concurrency-recipe: a concurrency the user sets beside a recipe
    that drives concurrency is an error at its file:line, with a hint, not silently ignored."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "c.yaml", "benchmark:\n  load:\n    concurrency: 4\n"
                               "  search:\n    recipe: concurrency-ramp\n")

    from_file = run("config", "validate", "-f", "c.yaml")
    from_flag = run("config", "explain", "--search-recipe", "concurrency-ramp",
                    "--concurrency", "4")

    assert 2 == from_file.exit_code
    assert ("c.yaml:3:5: benchmark.load.concurrency: recipe concurrency-ramp drives concurrency "
            "itself, so concurrency 4 (c.yaml:3:5) would be ignored") in from_file.output
    assert ("hint: remove concurrency and bound the recipe with --concurrency-min / "
            "--concurrency-max, or run without --search-recipe") in from_file.output
    assert 2 == from_flag.exit_code
    assert "concurrency 4 (command-line flag --concurrency) would be ignored" in from_flag.output
