"""{{name}}: a factory role in Python, of kind `reviewer`: it requests
changes when an added line of the diff has a TODO. The step's input and
output per role kind are in docs/roles.md of factory; replace `handle`."""

# Import every module you use here, at the top: the interpreter is
# snapshotted at build time, and a module first imported during a call is
# not found when the component runs.
import factory_sdk as factory


class Role(factory.Role):
    name = "{{name}}"
    kind = "reviewer"
    description = "Requests changes when an added line has a TODO."

    def handle(self, step):
        diff = step.get("diff")
        if not isinstance(diff, str):
            raise factory.InvalidInput("missing `diff` (a unified diff)")
        todos = sum(1 for line in diff.splitlines()
                    if line.startswith("+") and not line.startswith("+++") and "TODO" in line)
        detail = f"added lines with a TODO: {todos}"
        factory.log.info(detail)
        return {
            "checks": [{"detail": detail, "name": "no-todo", "passed": todos == 0}],
            "comments": [],
            "summary": detail if todos else "no added line has a TODO",
            "verdict": "request-changes" if todos else "approve",
        }
