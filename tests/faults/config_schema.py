"""The built-in config as a tree, with what each node is: mutations for property tests.

Walks siteward/demo.toml (every default filled in) alongside the pydantic schema, so the
tests know which tables forbid unknown keys, which keys are required, and which leaves
are numbers, strings, booleans or lists, without restating the schema by hand.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from siteward.config import SitewardConfig, load_config

Path_ = tuple[str | int, ...]


def full_demo_document() -> dict[str, Any]:
    """The built-in config with every default written out (None-valued keys dropped: TOML has no null)."""
    dumped = load_config(None).model_dump(mode="json", by_alias=True)
    return _drop_none(dumped)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / X | None -> X (first non-None member)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


def _descend(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        field = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        return field.annotation if field is not None else None
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


@dataclass(frozen=True)
class Node:
    path: Path_
    value: Any
    kind: str  # "table" (a model: unknown keys forbidden), "dict" (free keys), "list", "str", "number", "bool"
    required_keys: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return key_path(self.path)


def key_path(path: Path_) -> str:
    """The notation siteward's config errors use: pages[0].path, budgets.global.cls."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def walk(document: dict[str, Any]) -> list[Node]:
    nodes: list[Node] = []

    def visit(value: Any, annotation: Any, path: Path_) -> None:
        model = _model(annotation)
        if isinstance(value, dict):
            if model is not None:
                required = tuple(f.alias or n for n, f in model.model_fields.items() if f.is_required())
                nodes.append(Node(path, value, "table", required))
            else:
                nodes.append(Node(path, value, "dict"))
            for key, child in value.items():
                visit(child, _descend(annotation, key), (*path, key))
        elif isinstance(value, list):
            nodes.append(Node(path, value, "list"))
            for index, child in enumerate(value):
                visit(child, _descend(annotation, index), (*path, index))
        elif isinstance(value, bool):
            nodes.append(Node(path, value, "bool"))
        elif isinstance(value, (int, float)):
            nodes.append(Node(path, value, "number"))
        elif isinstance(value, str):
            nodes.append(Node(path, value, "str"))

    visit(document, SitewardConfig, ())
    return [n for n in nodes if n.path]


def set_at(document: Any, path: Path_, value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


def delete_at(document: Any, path: Path_) -> None:
    for part in path[:-1]:
        document = document[part]
    del document[path[-1]]


# ----------------------------------------------------------------- TOML out
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: same escapes as JSON
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def to_toml(document: dict[str, Any]) -> str:
    """Top-level keys with inline tables: enough TOML for any document of these tests."""
    return "".join(f"{json.dumps(str(k))} = {_toml_value(v)}\n" for k, v in document.items())
