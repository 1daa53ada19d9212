"""The config's defaults, read from their one home: config/schemas/config.schema.yaml.

The workflow fills them in when it validates the config (scripts/sheets.py); the step
modules use `with_defaults` so that their functions, called from tests or notebooks with a
few keys, get the very same values. No default is written anywhere else.
"""

from functools import cache
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[1] / "config" / "schemas" / "config.schema.yaml"


def _defaults(node: dict):
    """Default of a schema node: its object properties' defaults, else its own default."""
    if node.get("type") == "object" and "properties" in node:
        return {
            key: value
            for key, sub in node["properties"].items()
            if (value := _defaults(sub)) is not None
        }
    return node.get("default")


@cache
def _schema_defaults(schema: str) -> dict:
    with open(schema) as fh:
        return _defaults(yaml.safe_load(fh))


def schema_defaults(schema=SCHEMA) -> dict:
    """{key: default} of the whole config, nested as the config is (a fresh copy)."""
    return _deep_copy(_schema_defaults(str(schema)))


def with_defaults(section: str, params=None) -> dict:
    """`params` of a config section over that section's schema defaults (nested keys too).

    Raises ValueError naming an unknown key, as the schema would."""
    base = schema_defaults()[section]
    return _merge(base, dict(params or {}), section)


def _merge(base: dict, params: dict, where: str) -> dict:
    unknown = sorted(set(params) - set(base))
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown}; known: {sorted(base)}")
    out = dict(base)
    for key, value in params.items():
        if isinstance(base[key], dict) and isinstance(value, dict):
            value = _merge(base[key], value, f"{where}.{key}")
        out[key] = value
    return out


def _deep_copy(x):
    if isinstance(x, dict):
        return {k: _deep_copy(v) for k, v in x.items()}
    if isinstance(x, list):
        return list(x)
    return x
