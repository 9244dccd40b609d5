"""The baseline of the MCP benchmark: the Python SDK's own server with a
native, unsandboxed echo tool, over stdio."""
from mcp.server import MCPServer

app = MCPServer("echo")


@app.tool()
def echo(text: str = "") -> dict:
    """Return the input."""
    return {"text": text}


if __name__ == "__main__":
    app.run()
