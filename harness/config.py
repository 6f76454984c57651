"""Loading YAML configuration (tasks, leaderboards, recipes) validated by pydantic: a malformed file or a wrong
field fails at load with one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from harness.errors import HarnessError


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping with a repeated key (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                continue
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {first})", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def safe_load(text: str):
    """yaml.safe_load, but a duplicate key is an error."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 — a SafeLoader subclass


def load_yaml_config(path: Path, schema, what: str, tag_field: str | None = None, tag_names: dict | None = None):
    """Parse ``path`` and validate it with ``schema`` (a pydantic model class or a TypeAdapter).
    ``what`` names the document in errors ("a task file"); ``tag_field``: the discriminator of a tagged union,
    whose value pydantic puts first in error locations (dropped, so the field path reads as in the file).
    ``tag_names``: {discriminator field: (what a tag names, known tags)} for nested tagged unions, so an unknown
    tag reads "unknown intervention 'blur' (known: ...)"."""
    try:
        raw = safe_load(Path(path).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise HarnessError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise HarnessError(f"{path}:{where} malformed YAML ({getattr(e, 'problem', None) or e})") from None
    except OSError as e:
        raise HarnessError(f"{path}: cannot read ({e.strerror or e})") from None
    except RecursionError:
        raise HarnessError(f"{path}: YAML nested too deeply") from None
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
                raise HarnessError(
                    f"{path}: field '{field}.{key}': unknown {noun} {err['ctx'].get('tag')!r} "
                    f"(known: {', '.join(known)})"
                ) from None
        raise HarnessError(f"{path}: field {field!r}: {err['msg'].removeprefix('Value error, ')}") from None
