"""The official MCP Python SDK (PyPI `mcp`) driving `factory mcp` over
stdio: argv[1] is the factory binary, argv[2] a JSON list of steps. Prints
one JSON document: the tool list and each step's result or error."""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main():
    binary, steps = sys.argv[1], json.loads(sys.argv[2])
    extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
    params = StdioServerParameters(command=binary, args=["mcp", *extra], env=dict(os.environ))
    out = {"steps": []}
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            init = await s.initialize()
            out["server"] = init.server_info.model_dump(mode="json", exclude_none=True)
            tools = await s.list_tools()
            out["tools"] = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools]
            for name, args in steps:
                try:
                    res = await s.call_tool(name, args)
                    out["steps"].append({"result": res.model_dump(mode="json", by_alias=True, exclude_none=True)})
                except Exception as e:  # a protocol error: the session goes on
                    out["steps"].append({"error": str(e)})
    print(json.dumps(out))


asyncio.run(main())
