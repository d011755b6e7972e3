"""Build pydantic models from values the engine made itself, at the cost of a dict.

Every task run builds a handful of models from data that is already valid (a
``TaskExecution`` from the checked definition, a ``TaskOutcome`` from checked outputs).
``model_validate`` would check it all again and even ``model_construct`` walks every
field looking for aliases and defaults: together a measurable share of the per-task
overhead on a chain of short tasks (bench/overhead.py). When the caller passes exactly
the model's fields, the instance is assembled the way ``model_construct`` ends up
assembling it; anything else (a missing field that needs its default, an alias, a
model with private attributes or a post-init hook) goes through ``model_construct``.
``tests/test_trusted.py`` checks the result equals the validated model.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
_plain: dict[type[BaseModel], bool] = {}


def _is_plain(cls: type[BaseModel]) -> bool:
    """No aliases, private attributes, post-init hook or extras: a dict of fields is all."""
    plain = _plain.get(cls)
    if plain is None:
        plain = (
            not cls.__pydantic_post_init__
            and not cls.__private_attributes__
            and not cls.__pydantic_root_model__
            and cls.model_config.get("extra") != "allow"
            and all(
                f.alias in (None, name) and f.validation_alias in (None, name)
                for name, f in cls.__pydantic_fields__.items()
            )
        )
        _plain[cls] = plain
    return plain


def trusted(cls: type[M], **values: Any) -> M:
    """An instance of ``cls`` holding ``values`` as they are, without validation."""
    if values.keys() != cls.__pydantic_fields__.keys() or not _is_plain(cls):
        return cls.model_construct(**values)
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
