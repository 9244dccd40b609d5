// {{name}}: a factory tool in JavaScript (QuickJS). Counts the characters,
// lines and words of a text; replace `handle` with what your tool does.
import { defineTool, InvalidInput, log } from "./factory-sdk.js";

export const tool = defineTool({
  name: "{{name}}",
  description: "Count the characters, lines and words of a text.",
  inputSchema: {
    type: "object",
    properties: { text: { type: "string" } },
    required: ["text"],
    additionalProperties: false,
  },
  handle(args) {
    if (typeof args.text !== "string") throw new InvalidInput('expected {"text": "..."}');
    const text = args.text;
    log.debug(`counting ${text.length} UTF-16 units`);
    return {
      chars: [...text].length,
      lines: (text.match(/\n/g) || []).length,
      words: (text.match(/[^ \t\n\r\v\f]+/g) || []).length,
    };
  },
});
