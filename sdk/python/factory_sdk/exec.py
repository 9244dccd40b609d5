"""Running a granted program in the host's sandbox (`--exec PROGRAM`)."""

from dataclasses import dataclass

from . import _wit
from .errors import host_call


@dataclass
class Output:
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    truncated: bool
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def run(program: str, args=(), *, cwd: str | None = None, env=None,
        stdin: bytes | str | None = None, timeout_ms: int | None = None) -> Output:
    wit = _wit.need(_wit.exec_, "exec")

    if isinstance(stdin, str):
        stdin = stdin.encode()
    out = host_call(wit.run, wit.Command(
        program=program, args=list(args), cwd=cwd,
        env=list((env or {}).items()), stdin=stdin, timeout_ms=timeout_ms))
    return Output(out.exit_code, out.stdout, out.stderr, out.truncated, out.timed_out)
