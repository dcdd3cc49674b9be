"""Answers serialised through their response models: a service's object (a dataclass, or anything
with the model's fields as attributes) is read into the model and dumped as plain Python values
for Sanic's own JSON encoder, so the model is both the documentation and the serialisation.

Dates and datetimes are written as ``isoformat()`` does (UTC as ``+00:00``, not pydantic's ``Z``),
as every answer wrote them before the models did."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer

IsoDatetime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]
IsoDate = Annotated[date, PlainSerializer(date.isoformat, return_type=str)]


def answer(model: type[BaseModel], value: Any) -> dict[str, Any]:
    """``value`` as ``model`` shapes it: the model's fields only, in its order, ready for ``json()``."""
    return model.model_validate(value, from_attributes=True).model_dump(mode="python")
