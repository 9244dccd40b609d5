"""{{name}}: a factory tool in Python. Counts the characters, lines and
words of a text; replace `handle` with what your tool does."""

# Import every module you use here, at the top: the interpreter is
# snapshotted at build time, and a module first imported during a call is
# not found when the component runs.
import factory_sdk as factory

WHITESPACE = " \t\n\r\v\f"


class Tool(factory.Tool):
    name = "{{name}}"
    description = "Count the characters, lines and words of a text."
    input_schema = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    }

    def handle(self, args):
        text = args.get("text")
        if not isinstance(text, str):
            raise factory.InvalidInput('expected {"text": "..."}')
        words = "".join(" " if c in WHITESPACE else c for c in text).split(" ")
        factory.log.debug(f"counting {len(text)} characters")
        return {
            "chars": len(text),
            "lines": text.count("\n"),
            "words": sum(1 for w in words if w),
        }
