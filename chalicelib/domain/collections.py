"""Collections (content types) and their field schemas."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from .names import COLLECTION_RE

FieldType = Literal["string", "text", "number", "boolean", "datetime", "list", "enum", "reference"]
FIELD_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
BUILT_IN_FIELDS = ("title", "slug", "tags", "summary", "author", "published_at", "updated_at")
MAX_FIELDS = 100


class FieldSpec(BaseModel):
    """One custom front matter field of a collection."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: FieldType
    required: StrictBool = False
    max_length: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Characters for string/text, items for list.",
    )
    values: list[str] | None = Field(default=None, description="Allowed values of an enum.")
    collection: str | None = Field(
        default=None, description="The collection a reference points into."
    )
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "enum":
            if not self.values:
                raise ValueError("an enum field needs a non-empty 'values' list")
            if len(set(self.values)) != len(self.values):
                raise ValueError("enum values must be distinct")
        elif self.values is not None:
            raise ValueError("'values' applies to enum fields only")
        if self.type == "reference":
            if not self.collection or not COLLECTION_RE.fullmatch(self.collection):
                raise ValueError("a reference field needs a valid target 'collection'")
        elif self.collection is not None:
            raise ValueError("'collection' applies to reference fields only")
        if self.max_length is not None and self.type not in ("string", "text", "list"):
            raise ValueError("'max_length' applies to string, text and list fields only")
        return self


class CollectionSpec(BaseModel):
    """What a client sends to create or replace a collection."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    fields: dict[str, FieldSpec] | None = Field(
        default=None,
        description="The custom fields. Absent: the collection takes any front matter.",
    )

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: dict[str, FieldSpec] | None) -> dict[str, FieldSpec] | None:
        if fields is None:
            return None
        if len(fields) > MAX_FIELDS:
            raise ValueError(f"at most {MAX_FIELDS} fields")
        for name in fields:
            if not FIELD_NAME_RE.fullmatch(name):
                raise ValueError(f"field name {name!r} must match {FIELD_NAME_RE.pattern}")
            if name in BUILT_IN_FIELDS:
                raise ValueError(f"{name!r} is a built-in field and cannot be redefined")
        return fields


class Collection(CollectionSpec):
    """A stored collection: its name, its spec and when it changed."""

    name: str
    created_at: str
    updated_at: str

    @property
    def has_schema(self) -> bool:
        return self.fields is not None

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False)
