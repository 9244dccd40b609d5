"""A hostile Python plugin (componentize-py): each `attack` tries to get
past the sandbox from inside CPython. tests/langs/hostile.rs runs them."""

import encodings.idna  # noqa: F401 (socket needs it; see docs/writing-plugins.md)
import os
import socket

import factory_sdk as factory


def attack(kind: str, target: str):
    if kind == "ok":
        return {"ok": True}
    if kind == "cpu":
        while True:
            pass
    if kind == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))
    if kind == "huge-result":
        return {"data": "x" * (64 << 20)}
    if kind == "read":
        with open(target) as f:
            return {"content": f.read()}
    if kind == "list":
        return {"entries": os.listdir(target)}
    if kind == "write":
        with open(target, "w") as f:
            f.write("pwned")
        return {"wrote": target}
    if kind == "env":
        return {"env": dict(os.environ)}
    if kind == "tcp":
        host, port = target.rsplit(":", 1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect((host, int(port)))
            return {"connected": str(s.getpeername())}
    if kind == "kv":
        factory.kv.set("k", "v")
        return {"stored": True}
    if kind == "tool":
        return factory.tools.call("read-file", {"path": target})
    if kind == "exec":
        return {"exit": factory.exec.run(target, ["-c", "id"]).exit_code}
    raise factory.InvalidInput(f"unknown attack {kind}")


class Tool(factory.Tool):
    name = "py-attacker"
    description = "Tries to escape the sandbox from Python (tests only)."

    def handle(self, args):
        return attack(args["attack"], args.get("target", ""))
