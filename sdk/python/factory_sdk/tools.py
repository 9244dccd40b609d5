"""Calling other installed tools (each must be granted: `--tool NAME`)."""

import json

from . import _wit
from .errors import host_call


def available() -> list[dict]:
    """The tools this plugin may call: name, description, input schema."""
    tools = _wit.need(_wit.tools, "tools")
    return [
        {"name": t.name, "description": t.description,
         "input_schema": json.loads(t.input_schema or "{}")}
        for t in host_call(tools.available)
    ]


def call(name: str, args) -> object:
    """Call `name` with `args` (JSON-serializable); returns its parsed output."""
    tools = _wit.need(_wit.tools, "tools")
    out = host_call(tools.call, name, args if isinstance(args, str) else json.dumps(args))
    return json.loads(out)
