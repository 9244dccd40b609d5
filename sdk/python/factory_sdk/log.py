"""Logging into the factory journal (always allowed; capped per call)."""


from . import _wit


def _log(level: str, message: str) -> None:
    wit = _wit.need(_wit.log, "log")
    wit.log(getattr(wit.Level, level.upper()), str(message))


def trace(message: str) -> None:
    _log("trace", message)


def debug(message: str) -> None:
    _log("debug", message)


def info(message: str) -> None:
    _log("info", message)


def warn(message: str) -> None:
    _log("warn", message)


def error(message: str) -> None:
    _log("error", message)
