"""factory SDK for Python plugins, built with componentize-py.

A tool subclasses `Tool`, a role subclasses `Role`; the class must be named
`Tool` (or `Role`) in the module given to `componentize-py componentize`.
The host interfaces are `log`, `kv`, `tools`, `exec` and `model` (modules
of this package). Every host call either returns or raises one of the
`HostError` subclasses below; a `Denied` raised by a tool or role becomes
its `denied` error, so the operator sees the refusal the host journaled.
"""

from .errors import (
    Denied,
    Failed,
    HostError,
    InvalidInput,
    LimitExceeded,
    NotFound,
)
from .plugin import Role, Tool
from . import exec, kv, log, model, tools

__all__ = [
    "Tool", "Role", "HostError", "Denied", "InvalidInput", "NotFound",
    "LimitExceeded", "Failed", "log", "kv", "tools", "exec", "model",
]
