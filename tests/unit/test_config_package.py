"""The public names of :mod:`aiperf.config`, imported on first use."""

from __future__ import annotations

import importlib

import aiperf.config as config


def test_all_lists_every_lazy_name():
    """``__all__`` is spelled out for linters; it must name exactly the lazy names."""

    assert sorted(config._HOMES) == config.__all__


def test_every_public_name_comes_from_its_home():
    """Each public name is the object its submodule defines."""
    for name, home in config._HOMES.items():
        module = importlib.import_module(f"aiperf.config.{home}")

        assert getattr(module, name) is getattr(config, name)
