"""The plugin's private key-value store (trust read-only or higher)."""

from . import _wit as _bindings
from .errors import host_call


def _wit():
    return _bindings.need(_bindings.kv, "kv")


def get(key: str) -> bytes | None:
    return host_call(_wit().get, key)


def get_str(key: str) -> str | None:
    value = get(key)
    return None if value is None else value.decode()


def set(key: str, value: bytes | str) -> None:
    host_call(_wit().set, key, value.encode() if isinstance(value, str) else value)


def delete(key: str) -> bool:
    return host_call(_wit().delete, key)


def keys(prefix: str = "", limit: int = 1000) -> list[str]:
    return host_call(_wit().list_keys, prefix, limit)
