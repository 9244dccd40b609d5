// {{name}}: a factory role in JavaScript (QuickJS), of kind `reviewer`: it
// requests changes when an added line of the diff has a TODO. The step's
// input and output per role kind are in docs/roles.md of factory.
import { defineRole, InvalidInput, log } from "./factory-sdk.js";

export const role = defineRole({
  name: "{{name}}",
  kind: "reviewer",
  description: "Requests changes when an added line has a TODO.",
  handle(step) {
    if (typeof step.diff !== "string") throw new InvalidInput("missing `diff` (a unified diff)");
    const todos = step.diff
      .split("\n")
      .filter((l) => l.startsWith("+") && !l.startsWith("+++") && l.includes("TODO")).length;
    const detail = `added lines with a TODO: ${todos}`;
    log.info(detail);
    return {
      checks: [{ detail, name: "no-todo", passed: todos === 0 }],
      comments: [],
      summary: todos ? detail : "no added line has a TODO",
      verdict: todos ? "request-changes" : "approve",
    };
  },
});
