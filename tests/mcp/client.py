"""The official MCP Python SDK (PyPI `mcp`) driving `factory mcp`.

argv[1] is a JSON plan:
  {"transport": "stdio", "command": [binary, "mcp", ...]}
  or {"transport": "http", "url": ..., "headers": {...}}
  plus "revision": "2025-11-25" (initialize, the default) or "2026-07-28"
  (server/discover, stateless), and "steps": a list of
    {"op": "call", "tool": T, "args": {...}, "progress": true?}
    {"op": "race", "runaway": {"tool", "args"}, "other": {"tool", "args"},
     "cancel_after": seconds}   a runaway call cancelled by the client while
                                another on the same session is answered
    {"op": "exec", "argv": [...]}   a command run between calls (the CLI)
    {"op": "poll", "tool", "args", "key", "value"}   call until the result's
                                structuredContent[key] is no longer value
Prints one JSON document: the server info, the tools, and each step's
outcome (a result, or the protocol error)."""
import asyncio
import json
import os
import subprocess
import sys
import time

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def dump(x):
    return x.model_dump(mode="json", by_alias=True, exclude_none=True)


async def call(s, tool, args, progress=False):
    seen = []

    async def on_progress(p, total, message):
        seen.append({"progress": p, "message": message})

    try:
        res = await s.call_tool(tool, args, progress_callback=on_progress if progress else None)
        out = {"result": dump(res)}
    except Exception as e:  # a protocol error: the session goes on
        out = {"error": str(e)}
    if progress:
        out["progress"] = seen
    return out


async def race(s, step):
    box = {}
    scope = anyio.CancelScope()

    async def runaway():
        with scope:
            r = step["runaway"]
            box["runaway"] = await call(s, r["tool"], r["args"])
        if scope.cancelled_caught:
            box["runaway"] = "cancelled"

    async with anyio.create_task_group() as tg:
        tg.start_soon(runaway)
        await anyio.sleep(step.get("cancel_after", 0.5))
        o = step["other"]
        t0 = time.monotonic()
        box["other"] = await call(s, o["tool"], o["args"])
        box["other_seconds"] = time.monotonic() - t0
        box["runaway_running_when_other_answered"] = "runaway" not in box
        scope.cancel()  # the SDK sends notifications/cancelled
    # Let the cancellation reach the server before anything else happens.
    await anyio.sleep(step.get("settle", 0.5))
    return box


async def drive(s, plan):
    out = {"steps": []}
    if plan.get("revision") == "2026-07-28":
        d = await s.discover()
        out["discover"] = dump(d)
    else:
        init = await s.initialize()
        out["server"] = dump(init.server_info)
        out["protocol"] = init.protocol_version
    tools = await s.list_tools()
    out["tools"] = [dump(t) for t in tools.tools]
    for step in plan.get("steps", []):
        op = step["op"]
        if op == "call":
            out["steps"].append(await call(s, step["tool"], step.get("args", {}), step.get("progress", False)))
        elif op == "race":
            out["steps"].append(await race(s, step))
        elif op == "poll":
            # Call until structuredContent[key] is no longer `value`.
            deadline = time.monotonic() + step.get("timeout", 180)
            while True:
                r = await call(s, step["tool"], step.get("args", {}))
                sc = r.get("result", {}).get("structuredContent", {})
                if sc.get(step["key"]) != step["value"] or time.monotonic() > deadline:
                    break
                await anyio.sleep(0.2)
            out["steps"].append(r)
        elif op == "exec":
            p = subprocess.run(step["argv"], capture_output=True, text=True)
            out["steps"].append({"exit": p.returncode, "stderr": p.stderr})
        else:
            raise SystemExit(f"unknown op {op}")
    if plan.get("follow"):
        # Follow the run the first step started until it is no longer running.
        run_id = out["steps"][0]["result"]["structuredContent"]["run_id"]
        deadline = time.monotonic() + 300
        while True:
            r = await call(s, "factory_run_show", {"run_id": run_id})
            status = r.get("result", {}).get("structuredContent", {}).get("status")
            if status != "running" or time.monotonic() > deadline:
                break
            await anyio.sleep(0.3)
        out["followed"] = r.get("result", r)
    return out


async def main():
    plan = json.loads(sys.argv[1])
    if plan["transport"] == "stdio":
        cmd = plan["command"]
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
        async with stdio_client(params) as (r, w):
            async with ClientSession(r, w) as s:
                out = await drive(s, plan)
    else:
        async with httpx2.AsyncClient(headers=plan.get("headers", {}), timeout=60) as http:
            async with streamable_http_client(plan["url"], http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as s:
                    out = await drive(s, plan)
    print(json.dumps(out))


asyncio.run(main())
