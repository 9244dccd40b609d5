"""Errors: what a plugin raises, and what host calls raise."""

import errno

from componentize_py_types import Err


class HostError(Exception):
    """A host call failed; `kind` is the WIT `error-code` case."""

    kind = "failed"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Denied(HostError):
    """The capability was not granted. The message names the grant to add."""

    kind = "denied"


class InvalidInput(HostError):
    """The input was malformed."""

    kind = "invalid-input"


class NotFound(HostError):
    kind = "not-found"


class LimitExceeded(HostError):
    kind = "limit-exceeded"


class Failed(HostError):
    kind = "failed"


_BY_CASE = {
    "ErrorCode_Denied": Denied,
    "ErrorCode_InvalidInput": InvalidInput,
    "ErrorCode_NotFound": NotFound,
    "ErrorCode_LimitExceeded": LimitExceeded,
    "ErrorCode_Failed": Failed,
}

# What a sandbox refusal looks like from Python's os module.
_REFUSED = {errno.EPERM, errno.EACCES, getattr(errno, "ENOTCAPABLE", 76)}


def from_host(err) -> HostError:
    """Turn a generated `Err(ErrorCode_*)` into a `HostError`."""
    value = getattr(err, "value", err)
    cls = _BY_CASE.get(type(value).__name__, Failed)
    return cls(str(getattr(value, "value", value)))


def host_call(fn, *args):
    """Call a generated import, raising `HostError` instead of `Err`."""
    try:
        return fn(*args)
    except Err as e:
        raise from_host(e) from None


def classify(e: BaseException) -> tuple[str, str]:
    """The (tool-error case, message) for an exception a plugin let escape."""
    if isinstance(e, HostError):
        kind = e.kind
        if kind in ("not-found", "limit-exceeded"):
            kind = "failed"
        return kind, f"{e.kind}: {e.message}" if kind != e.kind else e.message
    if isinstance(e, PermissionError) or (
        isinstance(e, OSError) and e.errno in _REFUSED
    ):
        return "denied", f"{e.strerror or e}: {e.filename}" if e.filename else str(e)
    if isinstance(e, (ValueError, KeyError, TypeError)) and not isinstance(e, OSError):
        return "invalid-input", f"{type(e).__name__}: {e}"
    return "failed", f"{type(e).__name__}: {e}"
