"""Calling a granted language model through the host (`--model NAME`).

Messages are dicts: {"role": "system"|"user"|"assistant"|"tool",
"content": str, "tool_calls": [...], "tool_call_id": str|None}. The host
holds the credentials and charges tokens and cost to the plugin's budget.
"""

import json

from . import _wit
from .errors import host_call


def complete(messages, *, tools=(), model: str | None = None,
             max_tokens: int | None = None, temperature: float | None = None) -> dict:
    """One model call. `tools` are dicts {name, description, input_schema}.
    Returns {"model", "content", "tool_calls", "stop_reason", "usage"}."""
    wit = _wit.need(_wit.model, "model")

    def message(m):
        return wit.Message(
            role=getattr(wit.Role, m["role"].upper()),
            content=m.get("content", ""),
            tool_calls=[wit.ToolCall(c["id"], c["name"], c["arguments"])
                        for c in m.get("tool_calls", [])],
            tool_call_id=m.get("tool_call_id"),
        )

    specs = [wit.ToolSpec(t["name"], t.get("description", ""),
                          json.dumps(t.get("input_schema", {"type": "object"})))
             for t in tools]
    r = host_call(wit.complete, wit.Request(
        model=model, messages=[message(m) for m in messages], tools=specs,
        max_tokens=max_tokens, temperature=temperature))
    return {
        "model": r.model,
        "content": r.message.content,
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                       for c in r.message.tool_calls],
        "stop_reason": r.stop_reason.name.lower().replace("_", "-"),
        "usage": {"input_tokens": r.usage.input_tokens,
                  "output_tokens": r.usage.output_tokens,
                  "cost_micro_usd": r.usage.cost_micro_usd},
    }


def ask(prompt: str, *, system: str | None = None, **kw) -> str:
    """A single question; returns the reply's text."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}]
    return complete(messages, **kw)["content"]
