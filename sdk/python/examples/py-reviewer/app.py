"""py-reviewer: a reviewer role in Python. Deterministic checks first (diff
size, forbidden paths, leftover markers and debugging calls in added lines),
then the model's opinion when a model is granted. Approves only when every
check passes and the model (if any) approves."""

import fnmatch
import json
import re

import factory_sdk as factory

MARKERS = re.compile(r"\b(TODO|FIXME|XXX)\b")
DEBUG_CALLS = re.compile(r"\b(breakpoint\(\)|pdb\.set_trace\(\)|console\.log\(|dbg!\()")


def added_lines(diff: str):
    """(path, line number in the new file, text) for each added line."""
    path, line = None, 0
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            target = raw[4:].strip()
            path = None if target == "/dev/null" else target.removeprefix("b/")
        elif raw.startswith("@@"):
            m = re.search(r"\+(\d+)", raw)
            line = int(m.group(1)) if m else 0
        elif raw.startswith("+") and path:
            yield path, line, raw[1:]
            line += 1
        elif not raw.startswith("-"):
            line += 1


def extract_json(text: str):
    m = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidate = m.group(1) if m else text[text.find("{"): text.rfind("}") + 1]
    return json.loads(candidate)


class Role(factory.Role):
    name = "py-reviewer"
    kind = "reviewer"
    description = ("Reviews a change: diff size, forbidden paths, TODO/FIXME "
                   "markers and debugging calls in added lines, then the model.")

    def handle(self, step):
        for key in ("diff", "changed"):
            if key not in step:
                raise factory.InvalidInput(f"missing `{key}` (see docs/roles.md, reviewer)")
        diff, changed = step["diff"], step["changed"]
        limits = step.get("checks", {})
        checks, comments = [], []

        size = sum(1 for l in diff.splitlines()
                   if l[:1] in "+-" and not l.startswith(("+++", "---")))
        max_lines = limits.get("max_diff_lines")
        checks.append({"name": "diff-size", "passed": max_lines is None or size <= max_lines,
                       "detail": f"{size} changed lines" + (f" (max {max_lines})" if max_lines else "")})

        forbidden = [p for p in changed
                     if any(fnmatch.fnmatch(p, g) for g in limits.get("forbidden_paths", []))]
        checks.append({"name": "forbidden-paths", "passed": not forbidden,
                       "detail": ", ".join(forbidden) or "none touched"})

        for path, line, text in added_lines(diff):
            for rx, what in ((MARKERS, "a leftover marker"), (DEBUG_CALLS, "a debugging call")):
                if rx.search(text):
                    comments.append({"path": path, "line": line, "source": "check",
                                     "message": f"{what}: {text.strip()[:120]}"})
        checks.append({"name": "leftovers", "passed": not comments,
                       "detail": f"{len(comments)} found"})

        verdict, summary = "approve", "deterministic checks only (no model granted)"
        try:
            reply = factory.model.ask(
                "Review this change for the task below. Answer with JSON: "
                '{"verdict": "approve"|"request-changes", "summary": str, '
                '"comments": [{"path": str, "line": int, "message": str}]}\n\n'
                f"Task: {json.dumps(step.get('task', {}))}\n\nDiff:\n{diff}",
                system="You are a careful code reviewer.")
            opinion = extract_json(reply)
            verdict = opinion.get("verdict", "request-changes")
            summary = opinion.get("summary", "")
            for c in opinion.get("comments", []):
                comments.append({"path": c.get("path", ""), "line": c.get("line"),
                                 "message": c.get("message", ""), "source": "model"})
        except (factory.NotFound, factory.Denied) as e:
            factory.log.info(f"reviewing without a model: {e.message}")
        except ValueError as e:
            verdict, summary = "request-changes", f"the model's reply was not JSON: {e}"

        if not all(c["passed"] for c in checks):
            verdict = "request-changes"
            summary = "checks failed: " + ", ".join(c["name"] for c in checks if not c["passed"])
        factory.log.info(f"verdict {verdict}: {summary}")
        return {"verdict": verdict, "summary": summary, "comments": comments, "checks": checks}
