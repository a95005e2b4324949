"""Formatting of C initialisers and declarations from plain Python values (via Jinja2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import jinja2

C_TYPES: Mapping[str, str] = {
    "int8": "int8_t", "uint8": "uint8_t", "bool": "uint8_t", "int16": "int16_t",
    "int32": "int32_t", "float32": "float", "int64": "int64_t",
}
"""C element type of each IR dtype."""

_STRUCT = """static const {{ ctype }} {{ name }} = {{ init }};
"""

_ARRAY = """static const {{ ctype }} {{ name }}[{{ values|length }}] = {
{% for row in values|batch(per_row) %}  {{ row|join(', ') }},
{% endfor %}};
"""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the generator's templates."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("export.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def c_value(v: Any) -> str:
    """A C initialiser for an int, a str (verbatim), a sequence or a mapping of fields."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, Mapping):
        return "{" + ", ".join(f".{k} = {c_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Sequence):
        return "{" + ", ".join(c_value(x) for x in v) + "}"
    raise TypeError(f"cannot format {type(v).__name__} as C")


def c_struct(ctype: str, name: str, fields: Mapping[str, Any]) -> str:
    """``static const ctype name = {.field = value, ...};``"""
    return environment().from_string(_STRUCT).render(ctype=ctype, name=name, init=c_value(fields))


def c_array(ctype: str, name: str, values: Sequence[Any], *, per_row: int = 16) -> str:
    """``static const ctype name[n] = {...};`` with ``per_row`` values a line."""
    text = [c_value(v) for v in values] or ["0"]
    return environment().from_string(_ARRAY).render(ctype=ctype, name=name, values=text,
                                                    per_row=per_row)
