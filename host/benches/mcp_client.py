"""The MCP benchmark's client (see mcp.rs): the official Python SDK making
N sequential tools/call requests over stdio against a server command, after
timing its cold start (spawn to the first answered tools/list).

argv: N, TOOL, ARGS-JSON, then the server command. Prints JSON: cold start
and per-call seconds (median of 5 batches)."""
import asyncio
import json
import os
import statistics
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main():
    n, tool, args = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    cmd = sys.argv[4:]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    t0 = time.perf_counter()
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            await s.list_tools()
            cold = time.perf_counter() - t0
            for _ in range(20):  # warm-up
                await s.call_tool(tool, args)
            batches = []
            per = max(1, n // 5)
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(per):
                    res = await s.call_tool(tool, args)
                    if res.is_error:
                        raise SystemExit(f"{tool} failed: {res}")
                batches.append((time.perf_counter() - t) / per)
    print(json.dumps({"cold_s": cold, "per_call_s": statistics.median(batches)}))


asyncio.run(main())
