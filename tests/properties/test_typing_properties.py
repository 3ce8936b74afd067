"""Typing a word without strictyaml must give exactly what strictyaml gives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiperf.config import fields as F
from aiperf.config.kinds import EnumKind
from aiperf.config.schema import _scalar, type_text

ENUM_KINDS = sorted({f.kind for f in F.FIELDS if isinstance(f.kind, EnumKind)}, key=repr)


def strictyaml_reading(kind: EnumKind, text: str) -> object:
    try:
        return _scalar(kind, text)
    except Exception:  # noqa: BLE001 - any refusal counts as "does not fit"
        return ValueError


def ours(kind: EnumKind, text: str) -> object:
    try:
        return type_text(kind, text)
    except ValueError:
        return ValueError


@pytest.mark.parametrize("kind", ENUM_KINDS, ids=repr)
@given(data=st.data())
def test_enum_words_are_typed_as_strictyaml_types_them(kind, data):
    text = data.draw(st.one_of(
        st.sampled_from(kind.choices),
        st.sampled_from(kind.choices).map(str.upper),
        st.sampled_from(kind.choices).map(lambda c: f" {c}"),
        st.text(max_size=12),
    ))
    assert ours(kind, text) == strictyaml_reading(kind, text)
