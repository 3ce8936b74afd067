"""SimOptions: URL query parsing, unknown and bad options, cross-field checks."""

from __future__ import annotations

import attrs
import pytest

from aiperf.sim.options import SimOptions, SimOptionsError, option_infos, parse_sim_url
from aiperf.sim.profiles import Quirks


def test_query_parsing_sets_each_named_option_and_keeps_the_other_defaults():
    """Values in the query are converted to the field's type; the rest stay at default."""
    options = parse_sim_url("sim://?ttft_ms=50&itl_ms=10&osl=64&mode=deterministic")

    assert (options.mode, options.ttft_ms, options.itl_ms, options.osl) == \
        ("deterministic", 50.0, 10.0, 64)
    assert options.max_batch == SimOptions().max_batch
    assert isinstance(options.osl, int)


@pytest.mark.parametrize("url", ["sim://", "sim:///", "sim://?", "sim:"])
def test_bare_url_gives_the_defaults(url):
    """sim:// with no query is the default realistic simulator."""
    assert SimOptions() == parse_sim_url(url)


def test_dashes_are_accepted_for_underscores():
    """Flag spelling (max-batch) works in the query too."""
    assert 8 == parse_sim_url("sim://?max-batch=8").max_batch


def test_unknown_option_names_a_close_match_and_lists_the_known_ones():
    """A typo gets a suggestion and the full list of valid names."""
    with pytest.raises(SimOptionsError) as info:
        parse_sim_url("sim://?ttft=5")

    [problem] = info.value.problems
    assert "unknown option 'ttft'" in problem
    assert "did you mean 'ttft_ms'?" in problem
    for name in ("mode", "itl_ms", "max_batch", "error_rate", "chars_per_token"):
        assert name in problem


def test_every_problem_is_reported_at_once():
    """Three bad options give three lines, not one."""
    with pytest.raises(SimOptionsError) as info:
        parse_sim_url("sim://?osl=2.5&mode=fast&error_rate=2&nonsense=1")

    problems = "\n".join(info.value.problems)
    assert len(info.value.problems) == 4
    assert "osl: expected a whole number >= 1, got '2.5'" in problems
    assert "mode: expected one of deterministic, realistic, got 'fast'" in problems
    assert "error_rate: expected a number >= 0 and <= 1, got '2'" in problems
    assert "unknown option 'nonsense'" in problems


@pytest.mark.parametrize("query", [
    "ttft_ms=-1", "itl_ms=abc", "itl_ms=nan", "ttft_ms=inf", "max_batch=0", "osl=",
    "chars_per_token=1", "seed=-3", "stall_rate=1.5", "model=",
])
def test_bad_values_are_rejected(query):
    """Negative times, non-numbers, non-finite numbers and out-of-range values all fail."""
    name = query.split("=")[0]

    with pytest.raises(SimOptionsError, match=name):
        parse_sim_url(f"sim://?{query}")


def test_fault_rates_must_share_one_unit_interval():
    """error, disconnect and malformed are exclusive, so their rates cannot sum above 1."""
    with pytest.raises(SimOptionsError, match="must be <= 1"):
        parse_sim_url("sim://?error_rate=0.5&disconnect_rate=0.3&malformed_rate=0.3")


def test_repeated_option_is_an_error():
    """osl=1&osl=2 is ambiguous."""
    with pytest.raises(SimOptionsError, match="'osl' given more than once"):
        parse_sim_url("sim://?osl=1&osl=2")


@pytest.mark.parametrize("url", ["http://localhost:8000", "sim://host?osl=1", "sim://?osl=1#x"])
def test_non_simulator_urls_are_rejected(url):
    """Only the sim scheme with a bare query is a simulator URL."""
    with pytest.raises(SimOptionsError):
        parse_sim_url(url)


def test_direct_construction_validates_too():
    """The attrs class checks values itself, not only the parsers."""
    with pytest.raises(ValueError, match="max_batch"):
        SimOptions(max_batch=0)


def test_option_infos_cover_every_field_with_help():
    """The CLI flags are generated from these; each needs a help text."""
    infos = option_infos()

    assert [f.name for f in attrs.fields(SimOptions)] == [i.name for i in infos]
    assert all(i.help for i in infos)


def test_from_mapping_accepts_typed_values():
    """CLI flags arrive already converted (int, float)."""
    options = SimOptions.from_mapping({"osl": 4, "itl_ms": 2, "mode": "deterministic"})

    assert (4, 2.0, "deterministic") == (options.osl, options.itl_ms, options.mode)


def test_a_profile_is_one_of_the_known_servers():
    """profile=NAME picks a server; an unknown name lists the choices."""
    assert "llama.cpp" == parse_sim_url("sim://?profile=llama.cpp").profile
    assert "generic" == SimOptions().profile

    with pytest.raises(SimOptionsError) as info:
        parse_sim_url("sim://?profile=llamacpp")

    assert "profile: expected one of generic, llama.cpp, vllm, sglang, tgi, got 'llamacpp'" in \
        info.value.problems[0]


def test_quirks_come_from_the_profile_unless_given():
    """An explicit option overrides the profile's value; the rest stay the profile's."""
    default = parse_sim_url("sim://?profile=llama.cpp").quirks
    overridden = parse_sim_url("sim://?profile=llama.cpp&close_after_stream=false"
                               "&keepalive_max=0").quirks

    assert (True, 100, 5.0) == (default.close_after_stream, default.keepalive_max,
                                default.idle_timeout_s)
    assert (False, 0, 5.0) == (overridden.close_after_stream, overridden.keepalive_max,
                               overridden.idle_timeout_s)
    assert Quirks() == SimOptions().quirks  # generic: what the simulator always did


def test_every_quirk_is_an_option_defaulting_to_the_profile():
    """Each Quirks field is a SimOptions field whose default (None) means "the profile's"."""
    fields = {f.name: f for f in attrs.fields(SimOptions)}

    for quirk in attrs.fields(Quirks):
        assert fields[quirk.name].default is None
    infos = {i.name: i for i in option_infos()}
    assert {"per profile"} == {infos[q.name].default for q in attrs.fields(Quirks)}


@pytest.mark.parametrize("raw,value", [("true", True), ("1", True), ("On", True), ("yes", True),
                                       ("false", False), ("0", False), ("off", False),
                                       ("NO", False)])
def test_switches_take_words_and_digits(raw, value):
    assert value == parse_sim_url(f"sim://?ignore_stream={raw}").ignore_stream


@pytest.mark.parametrize("query", ["ignore_stream=maybe", "connection_close=", "keepalive_max=-1",
                                   "idle_timeout_s=x", "retry_after_s=1.5"])
def test_bad_quirk_values_are_rejected(query):
    with pytest.raises(SimOptionsError, match=query.split("=")[0]):
        parse_sim_url(f"sim://?{query}")


def test_rate_limit_and_unavailable_rates_share_the_fault_interval():
    """A request gets at most one fault, 429 and 503 included."""
    with pytest.raises(SimOptionsError, match="must be <= 1"):
        parse_sim_url("sim://?error_rate=0.5&rate_limit_rate=0.3&unavailable_rate=0.3")


def test_options_of_one_mode_select_it_when_no_mode_is_given():
    """sim://?ttft_ms=20&itl_ms=5 means the deterministic mode those options belong to,
    not the default realistic mode that would ignore them."""
    assert "deterministic" == parse_sim_url("sim://?ttft_ms=20&itl_ms=5").mode
    assert "realistic" == parse_sim_url("sim://?max_batch=3").mode


def test_an_option_of_another_mode_than_the_one_given_is_an_error_naming_both():
    with pytest.raises(SimOptionsError) as caught:
        parse_sim_url("sim://?mode=realistic&ttft_ms=20")

    assert ["ttft_ms applies to deterministic mode only, but mode is realistic"] == list(
        caught.value.problems)


def test_options_of_both_modes_without_a_mode_are_an_error():
    with pytest.raises(SimOptionsError) as caught:
        parse_sim_url("sim://?ttft_ms=1&max_batch=3")

    assert "deterministic: ttft_ms; realistic: max_batch" in caught.value.problems[0]
