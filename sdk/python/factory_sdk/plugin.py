"""Base classes for tools and roles: JSON in, JSON out, errors mapped."""

import json

from componentize_py_types import Err

from . import _wit
from .errors import InvalidInput, classify


def _parse(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"input is not JSON: {e}") from None


def _dump(value) -> str:
    return value if isinstance(value, str) else json.dumps(
        value, ensure_ascii=False, separators=(",", ":"))


def _error(e: BaseException, module, prefix: str):
    """The generated `Err(<prefix>_<Case>)` for an escaped exception."""
    kind, message = classify(e)
    case = {"denied": "Denied", "invalid-input": "InvalidInput"}.get(kind, "Failed")
    return Err(getattr(module, f"{prefix}_{case}")(message))


class Tool:
    """A tool: set `name`, `description`, `input_schema` (a dict) and
    implement `handle(args: dict)`, returning anything JSON-serializable.

    Raise `InvalidInput` for bad arguments and `Denied` when a capability
    was refused; `PermissionError` from the filesystem counts as denied,
    `ValueError`/`KeyError`/`TypeError` as invalid input, anything else as
    failed. The host sees the message.
    """

    name = "unnamed"
    description = ""
    input_schema: dict = {"type": "object"}

    def handle(self, args):
        raise NotImplementedError("implement handle(args) in your Tool")

    # The WIT exports, called by the host.
    def describe(self):
        tool = _wit.need(_wit.tool, "tool")
        return tool.Info(
            name=self.name,
            description=self.description,
            input_schema=json.dumps(self.input_schema),
        )

    def invoke(self, input: str) -> str:
        tool = _wit.need(_wit.tool, "tool")
        try:
            return _dump(self.handle(_parse(input)))
        except Exception as e:  # every escape becomes a tool-error
            raise _error(e, tool, "ToolError") from None


class Role:
    """A role: set `name`, `kind` (architect, coder, reviewer, tester,
    documenter, deployer or a custom kind) and `description`; implement
    `handle(step: dict) -> dict` with the kind's input and output
    (docs/roles.md). Errors map as for `Tool`."""

    name = "unnamed"
    kind = "custom"
    description = ""

    def handle(self, step):
        raise NotImplementedError("implement handle(step) in your Role")

    # The WIT exports, called by the host.
    def describe(self):
        role = _wit.need(_wit.role, "role")
        return role.Info(name=self.name, kind=self.kind, description=self.description)

    def run(self, input: str) -> str:
        role = _wit.need(_wit.role, "role")
        try:
            return _dump(self.handle(_parse(input)))
        except Exception as e:
            raise _error(e, role, "RoleError") from None
