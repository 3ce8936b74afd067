"""The recipes are data (rules/recipes.yaml) and the families are code: each recipe's
family, answer, SLAs and search styles name something the code defines."""

from __future__ import annotations

import importlib

import pytest

from aiperf.config import fields as F
from aiperf.config.recipes import builtin_registry
from aiperf.metric_catalogue import METRICS_BY_TAG
from aiperf.recipes.curves import ANSWERS
from aiperf.recipes.sla import OBJECTIVES

REGISTRY = builtin_registry()
RECIPES = sorted(REGISTRY.recipes.values(), key=lambda r: r.name)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_every_built_in_recipe_gives_an_answer_its_family_computes(recipe):
    family_answers = {"curve": ANSWERS, "sla-search": OBJECTIVES}[recipe.family]

    assert recipe.answer in family_answers


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_a_recipe_judges_only_defined_slas_and_only_if_it_searches(recipe):
    assert set(recipe.slas) <= set(REGISTRY.slas)
    assert bool(recipe.slas) == (recipe.family == "sla-search")


@pytest.mark.parametrize("sla", REGISTRY.slas.values(), ids=lambda s: s.setting)
def test_every_sla_is_a_search_setting_limiting_a_declared_metric(sla):
    assert f"benchmark.search.{sla.setting}" in F.FIELDS_BY_KEY
    assert sla.metric in METRICS_BY_TAG
    assert sla.goodput_slo is None or sla.goodput_slo in METRICS_BY_TAG


def test_the_search_style_flag_offers_exactly_the_styles_the_data_defines():
    assert F.SEARCH_STYLES == tuple(REGISTRY.search_styles)


@pytest.mark.parametrize("style", REGISTRY.search_styles.values(), ids=lambda s: s.name)
def test_every_search_style_names_a_function_that_exists(style):
    module, _, function = style.function.partition(":")

    assert callable(getattr(importlib.import_module(module), function))
