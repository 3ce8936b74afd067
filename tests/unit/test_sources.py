"""Sources: YAML files, plot configs, the environment and CLI values become typed Layers.

Every value leaves a source typed by its field's kind and with its origin attached; the
resolution engine only ranks them. These tests read real files written to tmp_path.
"""

from __future__ import annotations

import pytest

from aiperf.config import ConfigErrors, load
from aiperf.config import fields as F
from aiperf.config.layer import Origin, Value
from aiperf.config.overlay import cli_layer
from aiperf.config.plot_config import PlotEnvelopeSpec
from aiperf.config.provenance import MERGED, WON
from aiperf.config.recipes import builtin_registry
from aiperf.config.resolve import resolve
from aiperf.config.rulebook import load_rulebook
from aiperf.config.sources import defaults_layer, environment_layer, read_config_file

CONCURRENCY = "benchmark.load.concurrency"
MODEL = "benchmark.endpoint.model"
INPUT_FILE = "benchmark.dataset.input_file"
HEADERS = "benchmark.endpoint.headers"


def read(path, environ=None):
    """``read_config_file`` with an empty environment by default."""
    return read_config_file(path, environ or {})


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_layer_covers_every_field():
    """The defaults layer gives every field its declared default, from 'built-in'."""
    layer = defaults_layer()
    expected = {f.key: Value(f.default, Origin("default", "built-in")) for f in F.FIELDS}
    assert expected == dict(layer.values)


# --- config files -----------------------------------------------------------------------------


def test_config_file_value_is_typed_with_its_place(write_yaml):
    """A YAML value is typed by its field and carries file, line and column."""
    path = write_yaml("benchmark:\n  load:\n    concurrency: 4\n")
    expected = Value(4, Origin("file", str(path), 3, 5))
    assert expected == read(path).get(CONCURRENCY)


def test_config_file_layer_holds_only_what_it_says(write_yaml):
    """A file layer has exactly the fields the file sets, with scope 'file'."""
    path = write_yaml("benchmark:\n  load:\n    concurrency: 4\n  ui: none\n")
    layer = read(path)
    assert ("file", str(path), [CONCURRENCY, "benchmark.ui"]) == (
        layer.scope, layer.label, sorted(layer.values))


def test_config_file_label_can_be_given(write_yaml):
    """``label`` replaces the path in the layer and in every origin."""
    path = write_yaml("benchmark:\n  ui: none\n")
    layer = read_config_file(path, {}, label="team.yaml")
    assert ("team.yaml", "team.yaml") == (layer.label, layer.get("benchmark.ui").origin.source)


def test_input_file_is_relative_to_the_yaml_file(write_yaml, tmp_path):
    """A relative input_file in YAML is taken relative to the YAML file's folder."""
    path = write_yaml("benchmark:\n  dataset:\n    input_file: prompts.jsonl\n", "sub/c.yaml")
    assert str(tmp_path / "sub" / "prompts.jsonl") == read(path).get(INPUT_FILE).value


def test_input_file_absolute_stays(write_yaml, tmp_path):
    """An absolute input_file is kept as written."""
    target = tmp_path / "data" / "p.jsonl"
    path = write_yaml(f"benchmark:\n  dataset:\n    input_file: {target}\n", "sub/c.yaml")
    assert str(target) == read(path).get(INPUT_FILE).value


def test_input_file_tilde_is_the_home_folder(write_yaml, home):
    """``~/p.jsonl`` expands to the home folder, not the YAML file's folder."""
    path = write_yaml("benchmark:\n  dataset:\n    input_file: ~/p.jsonl\n", "sub/c.yaml")
    assert str(home / "p.jsonl") == read(path).get(INPUT_FILE).value


def test_input_file_from_the_command_line_is_not_rebased(write_yaml):
    """A relative --input-file is left relative (to the working directory)."""
    resolved = load(cli={INPUT_FILE: "prompts.jsonl"})
    assert "prompts.jsonl" == resolved.value(INPUT_FILE)


def test_composite_yaml_values(write_yaml):
    """Mappings, lists and free-form scalars are typed item by item."""
    path = write_yaml(
        """\
        benchmark:
          endpoint:
            headers:
              X-A: one
              X-Empty: ""
            extra_inputs:
              temperature: 0.5
              n: 2
              ignore_eos: true
              tag: hello
          search:
            isl_osl_pairs:
              - 128/128
              - 512/256
          slos:
            time_to_first_token: 200
        """
    )
    layer = read(path)
    expected = (
        {"X-A": "one", "X-Empty": ""},
        {"temperature": 0.5, "n": 2, "ignore_eos": True, "tag": "hello"},
        ["128/128", "512/256"],
        {"time_to_first_token": 200.0},
    )
    actual = tuple(layer.get(k).value for k in (
        HEADERS, "benchmark.endpoint.extra_inputs", "benchmark.search.isl_osl_pairs",
        "benchmark.slos"))
    assert expected == actual


def test_slo_unknown_metric_has_did_you_mean(write_yaml):
    """An unknown metric under slos is an error with a did-you-mean hint."""
    path = write_yaml("benchmark:\n  slos:\n    time_to_first_tokn: 200\n")
    with pytest.raises(ConfigErrors) as info:
        read(path)
    (e,) = info.value.errors
    assert ("unknown-key", 3, "did you mean 'time_to_first_token'?") == (e.code, e.line, e.hint)


def test_sweep_parameter_unknown_field_is_an_error(write_yaml):
    """A sweep parameter naming no field is an error, before a long benchmark starts."""
    path = write_yaml(
        """\
        benchmark:
          sweep:
            parameters:
              benchmark.load.concurency:
                - 1
                - 2
        """
    )
    with pytest.raises(ConfigErrors):
        read(path)


def test_sweep_scenario_unknown_field_is_an_error(write_yaml):
    """A scenario value naming no field is an error."""
    path = write_yaml(
        """\
        benchmark:
          sweep:
            scenarios:
              - name: small
                values:
                  benchmark.load.concurency: 1
        """
    )
    with pytest.raises(ConfigErrors):
        read(path)


# --- the plot: envelope -----------------------------------------------------------------------


def test_inline_envelope(write_yaml):
    """An inline plot: mapping is an envelope with no file and the typed settings it sets."""
    path = write_yaml("benchmark:\n  ui: none\nplot:\n  theme: dark\n  dpi: 200\n")
    expected = Value(PlotEnvelopeSpec(None, {"theme": "dark", "dpi": 200}),
                     Origin("envelope", str(path), 3, 1))
    assert expected == read(path).get("plot")


def test_path_envelope_is_relative_to_the_yaml_file(write_yaml):
    """``plot: ./p.yaml`` reads p.yaml next to the YAML file; origin is the plot: line."""
    plot_file = write_yaml("theme: dark\n", "sub/p.yaml")
    path = write_yaml("benchmark:\n  ui: none\nplot: ./p.yaml\n", "sub/c.yaml")
    expected = Value(PlotEnvelopeSpec(str(plot_file), {"theme": "dark"}),
                     Origin("envelope", str(path), 3, 1))
    assert expected == read(path).get("plot")


def test_path_envelope_tilde_is_the_home_folder(write_yaml, home):
    """``plot: ~/p.yaml`` reads from the home folder."""
    plot_file = home / "p.yaml"
    plot_file.write_text("theme: dark\n", encoding="utf-8")
    path = write_yaml("plot: ~/p.yaml\n", "sub/c.yaml")
    assert PlotEnvelopeSpec(str(plot_file), {"theme": "dark"}) == read(path).get("plot").value


def test_inline_envelope_interpolates_references(write_yaml):
    """``${VAR:default}`` works inside an inline plot: section."""
    path = write_yaml("plot:\n  theme: ${THEME:dark}\n")
    assert {"theme": "dark"} == read(path).get("plot").value.settings


def test_path_envelope_interpolates_references(write_yaml, tmp_path):
    """``plot: ${PLOT_DIR}/p.yaml`` substitutes the variable like any other value."""
    plot_file = write_yaml("theme: dark\n", "plots/p.yaml")
    path = write_yaml("plot: ${PLOT_DIR}/p.yaml\n")
    layer = read(path, {"PLOT_DIR": str(tmp_path / "plots")})
    assert str(plot_file) == layer.get("plot").value.source


def test_envelope_becomes_the_config_plot_settings(write_yaml):
    """The resolved config carries the envelope's keys and the full settings with defaults."""
    path = write_yaml("plot:\n  theme: dark\n")
    plot = load([path]).config.plot
    expected = (None, ("theme",), "dark", 150)
    assert expected == (plot.source, plot.given, plot.settings.theme, plot.settings.dpi)


def test_no_envelope_means_no_plot_config(write_yaml):
    """Without a plot: section the resolved config has no plot settings."""
    assert load([write_yaml("benchmark:\n  ui: none\n")]).config.plot is None


# --- ${VAR} references ------------------------------------------------------------------------


def test_double_dollar_writes_a_literal_reference(write_yaml):
    """``$${X}`` is the literal text ``${X}``."""
    path = write_yaml("benchmark:\n  endpoint:\n    model: $${X}\n")
    assert "${X}" == read(path).get(MODEL).value


def test_reference_cannot_change_structure(write_yaml):
    """A substituted value that looks like YAML structure stays one string."""
    path = write_yaml("benchmark:\n  endpoint:\n    model: ${M}\n")
    assert "a: [b, c]" == read(path, {"M": "a: [b, c]"}).get(MODEL).value


def test_reference_inside_a_list_item(write_yaml):
    """References work in list items too."""
    path = write_yaml("benchmark:\n  search:\n    isl_osl_pairs:\n      - ${PAIR:128/128}\n")
    assert ["128/128"] == read(path).get("benchmark.search.isl_osl_pairs").value


def test_reference_uses_only_the_given_environment(write_yaml, monkeypatch):
    """load() substitutes from the environ it is given, not from os.environ."""
    monkeypatch.setenv("SOME_MODEL", "from-process")
    path = write_yaml("benchmark:\n  endpoint:\n    model: ${SOME_MODEL:from-default}\n")
    assert "from-default" == load([path], environ={}).value(MODEL)


# --- the environment --------------------------------------------------------------------------


def test_environment_values_are_typed_with_the_variable_as_origin():
    """AIPERF_* variables are typed by their field and name the variable as origin."""
    layer = environment_layer({"AIPERF_CONCURRENCY": "3", "AIPERF_STREAMING": "true"})
    expected = {
        CONCURRENCY: Value(3, Origin("env", "AIPERF_CONCURRENCY")),
        "benchmark.endpoint.streaming": Value(True, Origin("env", "AIPERF_STREAMING")),
    }
    assert expected == dict(layer.values)


def test_environment_ignores_unrelated_variables():
    """Variables that name no field (or misspell one) are not read."""
    layer = environment_layer({"PATH": "/bin", "AIPERF_CONCURENCY": "3", "HOME": "/root"})
    assert {} == dict(layer.values)


def test_environment_keys_filter():
    """``keys`` limits the layer to the given fields."""
    layer = environment_layer({"AIPERF_CONCURRENCY": "3", "AIPERF_MODEL": "m"}, keys=[MODEL])
    assert [MODEL] == list(layer.values)


def test_environment_wrong_type_names_the_variable():
    """A badly typed variable is an error that names the variable and the field."""
    with pytest.raises(ConfigErrors) as info:
        environment_layer({"AIPERF_CONCURRENCY": "lots", "AIPERF_REQUEST_COUNT": "0"})
    expected = [
        ("wrong-type", "environment variable AIPERF_CONCURRENCY", CONCURRENCY),
        ("wrong-type", "environment variable AIPERF_REQUEST_COUNT", "benchmark.load.request_count"),
    ]
    assert expected == [(e.code, e.file, e.key) for e in info.value.errors]


def test_api_key_comes_from_openai_api_key():
    """OPENAI_API_KEY sets the endpoint's api_key."""
    layer = environment_layer({"OPENAI_API_KEY": "sk-test"})
    assert Value("sk-test", Origin("env", "OPENAI_API_KEY")) == layer.get(
        "benchmark.endpoint.api_key")


def test_environment_beats_a_config_file(write_yaml):
    """An environment variable outranks a config file value."""
    path = write_yaml("benchmark:\n  load:\n    concurrency: 4\n")
    p = load([path], environ={"AIPERF_CONCURRENCY": "8"}).provenance[CONCURRENCY]
    assert (8, "env", "concurrency-environment") == (p.value, p.origin.scope, p.rule.id)


# --- command-line values ----------------------------------------------------------------------


def test_cli_drops_flags_not_given():
    """None (a tri-state flag not given) and an empty list are not values."""
    layer = cli_layer({"benchmark.artifacts.auto_plot": None, HEADERS: []})
    assert {} == dict(layer.values)


def test_cli_origin_names_the_flag():
    """A CLI value's origin is the flag that set it."""
    layer = cli_layer({CONCURRENCY: 8, "benchmark.artifacts.auto_plot": True})
    expected = {
        CONCURRENCY: Value(8, Origin("cli", "--concurrency")),
        "benchmark.artifacts.auto_plot": Value(True, Origin("cli", "--auto-plot")),
    }
    assert expected == dict(layer.values)


def test_cli_negative_flag_is_named_in_the_origin():
    """``--no-auto-plot`` (False) names the negative flag as its origin."""
    layer = cli_layer({"benchmark.artifacts.auto_plot": False})
    assert Value(False, Origin("cli", "--no-auto-plot")) == layer.get(
        "benchmark.artifacts.auto_plot")


def test_a_repeated_url_flag_gives_its_further_values_to_extra_urls():
    """``--url A --url B --url C``: A is the endpoint, B and C the extra ones, all from
    the --url flag; one --url sets the endpoint alone."""
    many = cli_layer({"benchmark.endpoint.url": ["http://a:1", "http://b:2", "http://c:3"]})
    one = cli_layer({"benchmark.endpoint.url": ["http://a:1"]})
    assert many.get("benchmark.endpoint.url") == Value("http://a:1", Origin("cli", "--url"))
    assert many.get("benchmark.endpoint.extra_urls") == Value(
        ["http://b:2", "http://c:3"], Origin("cli", "--url"))
    assert dict(one.values) == {"benchmark.endpoint.url": Value("http://a:1",
                                                                 Origin("cli", "--url"))}


def test_cli_text_is_typed_like_yaml():
    """Text from the command line is typed by the field's kind."""
    layer = cli_layer({CONCURRENCY: "8", "benchmark.load.request_rate": "2.5"})
    assert (8, 2.5) == (layer.get(CONCURRENCY).value,
                        layer.get("benchmark.load.request_rate").value)


def test_cli_composite_flags():
    """--header K:V, --goodput 'tag:value ...' and --isl-osl-pairs a,b are parsed by kind."""
    layer = cli_layer({
        HEADERS: ["Authorization:Bearer a:b", "X-A:1"],
        "benchmark.slos": "time_to_first_token:200 request_latency:300",
        "benchmark.search.isl_osl_pairs": "128/128, 512/256",
    })
    expected = (
        {"Authorization": "Bearer a:b", "X-A": "1"},
        {"time_to_first_token": 200.0, "request_latency": 300.0},
        ["128/128", "512/256"],
    )
    actual = tuple(layer.get(k).value for k in (
        HEADERS, "benchmark.slos", "benchmark.search.isl_osl_pairs"))
    assert expected == actual


def test_cli_goodput_unknown_metric_has_did_you_mean():
    """An unknown --goodput metric is a bad-flag error with a did-you-mean."""
    with pytest.raises(ConfigErrors) as info:
        cli_layer({"benchmark.slos": "time_to_first_tokn:200"})
    (e,) = info.value.errors
    assert ("bad-flag", "command-line flag --goodput", "benchmark.slos") == (e.code, e.file, e.key)
    assert "did you mean 'time_to_first_token'?" in e.message


def test_cli_header_without_separator_is_an_error():
    """``--header X-A`` without a colon is a bad-flag error."""
    with pytest.raises(ConfigErrors) as info:
        cli_layer({HEADERS: ["X-A"]})
    assert ["bad-flag"] == [e.code for e in info.value.errors]


def test_cli_errors_are_reported_together():
    """Every bad flag is reported in one go."""
    with pytest.raises(ConfigErrors) as info:
        cli_layer({CONCURRENCY: "0", "benchmark.artifacts.auto_plot": "maybe"})
    assert ["--concurrency", "--auto-plot"] == [
        e.file.removeprefix("command-line flag ") for e in info.value.errors]


# --- layers together --------------------------------------------------------------------------


def test_mapping_fields_merge_key_by_key(write_yaml):
    """Headers from a file and from --header merge; the winning layer is the CLI."""
    path = write_yaml("benchmark:\n  endpoint:\n    headers:\n      X-A: one\n      X-B: file\n")
    p = load([path], cli={HEADERS: ["X-B:cli"]}).provenance[HEADERS]
    statuses = {c.scope: c.status for c in p.considered if c.scope in ("cli", "file")}
    expected = ({"X-A": "one", "X-B": "cli"}, "cli", {"cli": WON, "file": MERGED})
    assert expected == (p.value, p.origin.scope, statuses)


def test_layer_order_between_scopes_does_not_matter(write_yaml):
    """resolve() ranks layers by scope, whatever order they are passed in."""
    path = write_yaml("benchmark:\n  load:\n    concurrency: 4\n")
    layers = [defaults_layer(), read(path), cli_layer({CONCURRENCY: 8})]
    registry, rulebook = builtin_registry().recipes, load_rulebook()
    forward = resolve(layers, registry, rulebook).values()
    backward = resolve(list(reversed(layers)), registry, rulebook).values()
    assert (8, forward) == (forward[CONCURRENCY], backward)


def test_config_tree_mirrors_the_yaml(write_yaml):
    """The frozen config tree is read by attribute, shaped like the YAML document."""
    path = write_yaml("benchmark:\n  load:\n    concurrency: 4\n  artifacts:\n    dir: out\n")
    config = load([path]).config
    assert (4, "out", False) == (config.benchmark.load.concurrency,
                                 config.benchmark.artifacts.dir,
                                 config.benchmark.artifacts.auto_plot)
