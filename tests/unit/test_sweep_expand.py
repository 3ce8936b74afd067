"""Expanding a sweep into cells (aiperf.config.sweep)."""

from __future__ import annotations

import pytest

from aiperf.config import load
from aiperf.config.errors import ConfigErrors
from aiperf.config.sweep import expand, log_grid


def test_log_grid_spans_min_to_max_with_whole_numbers():
    assert log_grid(1, 1000, 8) == [1, 3, 7, 19, 52, 139, 373, 1000]
    assert log_grid(256, 32768, 8) == [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]


def test_log_grid_drops_duplicates_of_a_narrow_range():
    assert log_grid(1, 3, 8) == [1, 2, 3]


def test_a_grid_is_the_product_in_the_order_written(write_yaml):
    config = write_yaml("""
        benchmark:
          sweep:
            parameters:
              benchmark.load.concurrency:
                - 1
                - 2
              benchmark.dataset.isl.mean:
                - 64
                - 128
        """)
    cells = expand(load([config], {}, {}))
    assert [c.name for c in cells] == ["concurrency1-isl64", "concurrency1-isl128",
                                       "concurrency2-isl64", "concurrency2-isl128"]
    assert cells[0].values == {"benchmark.load.concurrency": 1, "benchmark.dataset.isl.mean": 64}


def test_a_fraction_for_a_count_is_an_error(write_yaml):
    config = write_yaml("""
        benchmark:
          sweep:
            parameters:
              benchmark.load.concurrency:
                - 1.5
        """)
    # Typed by the swept field's kind as the file is read, so the file's line is named.
    with pytest.raises(ConfigErrors,
                       match=r"config.yaml:6: .*benchmark.load.concurrency: expected an integer"):
        expand(load([config], {}, {}))


def test_a_search_recipe_is_not_a_grid():
    resolved = load([], {"benchmark.search.recipe": "max-concurrency-under-sla",
                         "benchmark.search.ttft_sla_ms": 100.0}, {})
    assert expand(resolved) == ()


def test_a_curve_recipe_is_a_grid_over_its_dimensions():
    resolved = load([], {"benchmark.search.recipe": "decode-itl-curve",
                         "benchmark.search.concurrency_steps": 2,
                         "benchmark.search.osl_steps": 2}, {})
    assert [c.name for c in expand(resolved)] == [
        "concurrency1-osl64", "concurrency1-osl1024", "concurrency200-osl64",
        "concurrency200-osl1024"]


@pytest.mark.parametrize("dimension", ["concurrency", "isl", "osl"])
def test_a_grid_of_more_than_a_thousand_points_is_an_error_naming_the_key(write_yaml,
                                                                          dimension):
    """Each point is a run: a billion of them is a typo, refused where it was written
    (laying such a grid out used to hang)."""
    config = write_yaml(f"""
        benchmark:
          search:
            recipe: concurrency-ramp
            {dimension}_steps: 1000000000
        """)
    with pytest.raises(ConfigErrors,
                       match=rf"benchmark.search.{dimension}_steps: expected an integer <= 1000"):
        load([config], {}, {})


def test_a_grid_of_a_thousand_points_is_laid_out():
    grid = log_grid(1_000, 10**7, 1000)

    assert (1000, 1_000, 10**7) == (len(grid), grid[0], grid[-1])


def test_pareto_sweep_pairs_go_together_across_a_concurrency_grid():
    resolved = load([], {"benchmark.search.recipe": "pareto-sweep",
                         "benchmark.search.isl_osl_pairs": "128/64,512/32",
                         "benchmark.search.concurrency_max": 4,
                         "benchmark.search.concurrency_steps": 2}, {})
    cells = expand(resolved)
    assert [c.name for c in cells] == [
        "isl128-osl64-concurrency1", "isl128-osl64-concurrency4",
        "isl512-osl32-concurrency1", "isl512-osl32-concurrency4"]
    assert cells[-1].values == {"benchmark.dataset.isl.mean": 512,
                                "benchmark.dataset.osl.mean": 32,
                                "benchmark.load.concurrency": 4}


def test_a_malformed_pair_is_an_error():
    resolved = load([], {"benchmark.search.recipe": "pareto-sweep",
                         "benchmark.search.isl_osl_pairs": "128x64"}, {})
    with pytest.raises(ConfigErrors, match="ISL/OSL"):
        expand(resolved)


def test_sweep_values_are_typed_by_the_swept_fields_kind(write_yaml):
    """A swept count is a whole number and a swept rate may be a fraction, as read."""
    config = write_yaml("""
        benchmark:
          sweep:
            parameters:
              benchmark.load.concurrency:
                - 2
                - 8
              benchmark.load.request_rate:
                - 1
                - 2.5
        """)
    parameters = load([config], {}, {}).value("benchmark.sweep.parameters")
    assert parameters == {"benchmark.load.concurrency": [2, 8],
                          "benchmark.load.request_rate": [1.0, 2.5]}
    assert [type(v) for v in parameters["benchmark.load.concurrency"]] == [int, int]
    assert [type(v) for v in parameters["benchmark.load.request_rate"]] == [float, float]


def test_a_comma_list_flag_sweeps_whole_numbers_for_a_count():
    """``--concurrency 2,8`` sweeps the ints 2 and 8 (not 2.0, 8.0), and its cells run them."""
    resolved = load([], {"benchmark.load.concurrency": "2,8"}, {})
    swept = resolved.value("benchmark.sweep.parameters")["benchmark.load.concurrency"]
    cells = expand(resolved)

    assert [(v, type(v)) for v in swept] == [(2, int), (8, int)]
    assert [(c.name, c.values) for c in cells] == [
        ("concurrency2", {"benchmark.load.concurrency": 2}),
        ("concurrency8", {"benchmark.load.concurrency": 8})]
    ran = load([], {"benchmark.load.concurrency": "2,8"}, {}, cell=cells[1]).value(
        "benchmark.load.concurrency")
    assert (ran, type(ran)) == (8, int)


def test_a_swept_count_outside_its_fields_bounds_is_an_error(write_yaml):
    """The swept field's bounds apply to every swept value (concurrency is at least 1)."""
    config = write_yaml("""
        benchmark:
          sweep:
            parameters:
              benchmark.load.concurrency:
                - 0
                - 4
        """)
    with pytest.raises(ConfigErrors, match=r"benchmark.load.concurrency: "):
        load([config], {}, {})


def test_swept_fields_name_the_values_the_cells_run_and_what_chose_them():
    """explain's view of a sweep: the cells' values, typed, and the sweep's source."""
    from aiperf.config.sweep import swept_fields

    grid = swept_fields(load([], {"benchmark.load.concurrency": "2,8"}, {}))
    ramp = swept_fields(load([], {"benchmark.search.recipe": "concurrency-ramp"}, {}))

    assert grid["benchmark.load.concurrency"].describe() == (
        "swept: 2, 8 (grid sweep from --concurrency), each cell resolved with its value as "
        "a layer of its own")
    assert ramp["benchmark.load.concurrency"].values == (1, 3, 7, 19, 52, 139, 373, 1000)
    assert ramp["benchmark.load.concurrency"].by == "recipe concurrency-ramp grid"
    assert swept_fields(load([], {}, {})) == {}


def test_a_cells_own_resolution_has_no_swept_fields():
    """Inside a cell nothing varies: explain of a cell shows the value it ran with."""
    from aiperf.config.sweep import swept_fields

    cli = {"benchmark.load.concurrency": "2,8"}
    cell = expand(load([], cli, {}))[1]

    assert swept_fields(load([], cli, {}, cell=cell)) == {}
