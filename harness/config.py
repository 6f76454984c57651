"""Loading YAML configuration (tasks, leaderboards, recipes) validated by pydantic: a malformed file or a wrong
field fails at load with one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from harness.errors import HarnessError


def load_yaml_config(path: Path, schema, what: str, tag_field: str | None = None, tag_names: dict | None = None):
    """Parse ``path`` and validate it with ``schema`` (a pydantic model class or a TypeAdapter).
    ``what`` names the document in errors ("a task file"); ``tag_field``: the discriminator of a tagged union,
    whose value pydantic puts first in error locations (dropped, so the field path reads as in the file).
    ``tag_names``: {discriminator field: (what a tag names, known tags)} for nested tagged unions, so an unknown
    tag reads "unknown intervention 'blur' (known: ...)"."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise HarnessError(f"{path}:{where} malformed YAML ({getattr(e, 'problem', None) or e})") from None
    except OSError as e:
        raise HarnessError(f"{path}: cannot read ({e.strerror})") from None
    if not isinstance(raw, dict):
        raise HarnessError(f"{path}: {what} must be a mapping of fields, got {type(raw).__name__}")
    adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
    try:
        return adapter.validate_python(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = list(err["loc"])
        if tag_field and loc and loc[0] == raw.get(tag_field):
            loc = loc[1:]
        field = ".".join(map(str, loc)) or tag_field or "?"
        if err["type"] == "union_tag_invalid" and tag_names:
            key = err.get("ctx", {}).get("discriminator", "").strip("'")
            if key in tag_names:
                noun, known = tag_names[key]
                raise HarnessError(f"{path}: field '{field}.{key}': unknown {noun} {err['ctx'].get('tag')!r} "
                                   f"(known: {', '.join(known)})") from None
        raise HarnessError(f"{path}: field {field!r}: {err['msg'].removeprefix('Value error, ')}") from None
