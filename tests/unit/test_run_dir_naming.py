"""The default run directory name (aiperf.config.derive)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiperf.config.derive import default_run_dir_name, model_basename


@pytest.mark.parametrize(
    ("model", "concurrency", "rate", "expected"),
    [
        ("meta-llama/Llama-3.1-8B", 4, None, "Llama-3.1-8B-concurrency4"),
        ("gpt2", None, 5, "gpt2-request_rate5.0"),  # the reference's spelling of a rate
        ("gpt2", None, 0.5, "gpt2-request_rate0.5"),
        ("gpt2", None, 12.25, "gpt2-request_rate12.25"),
        ("gpt2", 8, 5.0, "gpt2-concurrency8-request_rate5.0"),
        ("gpt2", None, None, "gpt2"),
    ],
)
def test_default_run_dir_name(model, concurrency, rate, expected):
    assert expected == default_run_dir_name(model, concurrency, rate)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("meta-llama/Llama-3.1-8B", "Llama-3.1-8B"),
        ("/models/llama/", "llama"),  # trailing separator
        ("C:\\models\\mistral-7b", "mistral-7b"),
        ("org/model:latest", "model_latest"),  # ':' is not allowed on Windows
        ("my model", "my_model"),
        ("", "model"),
        ("/", "model"),
        ("..", "model"),
    ],
)
def test_model_basename(model, expected):
    assert expected == model_basename(model)


@given(st.text(max_size=40))
def test_basename_is_always_a_plain_directory_name(model):
    """Whatever the model name, the result is one safe path component."""
    name = model_basename(model)

    assert name and name not in {".", ".."}
    assert "/" not in name and "\\" not in name
