"""Writes calc-session.json, the demo's recorded model session.

The replies were written by hand for this demo, to show one feedback round
(the first attempt breaks a test, the second fixes it). The file has the
format `factory run --record FILE` writes (one exchange per model call,
keyed by the step's stream and the call's number), pretty-printed, with
the replies only. The demo replays strictly, so the requests are then
recorded from a run of these replies (README.md says how); a recording of
a real model can replace the whole file.
"""
import json

CALC_V1 = '''"""A tiny statistics module."""


def divide(a, b):
    """Divide a by b."""
    return a / b


def mean(xs):
    """The arithmetic mean of xs; 0 for an empty list."""
    return sum(xs) // len(xs) if xs else 0
'''
CALC_V2 = CALC_V1.replace("sum(xs) // len(xs)", "sum(xs) / len(xs)")
TESTS = '''import unittest

from calc import divide, mean


class TestCalc(unittest.TestCase):
    def test_divide(self):
        self.assertEqual(divide(6, 3), 2)

    def test_mean(self):
        self.assertAlmostEqual(mean([1, 2, 4]), 7 / 3)

    def test_mean_of_empty_is_zero(self):
        self.assertEqual(mean([]), 0)


if __name__ == "__main__":
    unittest.main()
'''
README = '''# calc

A tiny statistics module.

- `divide(a, b)`: `a / b`
- `mean(xs)`: the arithmetic mean of `xs`; `0` for an empty list

Run the tests with `python3 -m unittest -v`.
'''
CHANGELOG = '''# Changelog

## Unreleased

- `mean([])` returns `0` instead of raising `ZeroDivisionError` (#42).
'''

PLAN = {
    "summary": "Make mean() return 0 for an empty list and cover it with a test.",
    "subtasks": [{
        "id": "fix-mean",
        "title": "mean() returns 0 for an empty list",
        "instructions": "In calc.py, return 0 from mean() when xs is empty; keep the result of every other input unchanged. Add test_mean_of_empty_is_zero to test_calc.py.",
        "scope": ["calc.py", "test_calc.py"],
        "depends_on": [],
    }],
}

def say(text, inp, out, calls=()):
    return {
        "model": "demo-model",
        "message": {
            "role": "assistant",
            "content": text,
            "tool_calls": [{"id": i, "name": n, "arguments": json.dumps(a)} for i, n, a in calls],
        },
        "stop_reason": "tool-use" if calls else "end-turn",
        "usage": {"input_tokens": inp, "output_tokens": out},
    }

session = [
    ("@plan/architect/1", [
        say("", 812, 24, [("call_a1", "read-file", {"path": "calc.py"})]),
        say("```json\n" + json.dumps(PLAN, indent=2) + "\n```", 1043, 161),
    ]),
    ("fix-mean/coder/1", [
        say("", 1288, 31, [("call_c1", "read-file", {"path": "calc.py"}), ("call_c2", "read-file", {"path": "test_calc.py"})]),
        say("", 1702, 298, [("call_c3", "write-file", {"path": "calc.py", "content": CALC_V1}),
                            ("call_c4", "write-file", {"path": "test_calc.py", "content": TESTS})]),
        say("mean() now returns 0 for an empty list, and test_mean_of_empty_is_zero covers it.", 2071, 22),
    ]),
    ("fix-mean/coder/2", [
        say("", 1911, 164, [("call_c5", "write-file", {"path": "calc.py", "content": CALC_V2})]),
        say("The previous attempt used floor division (//), which broke the mean of non-empty lists; it is true division again, and 0 for an empty list.", 2150, 35),
    ]),
    ("@review/reviewer/1", [
        say("```json\n" + json.dumps({
            "verdict": "approve",
            "summary": "Small, correct fix: the empty case returns 0 and other inputs are unchanged; the new test covers the issue.",
            "comments": [{"path": "calc.py", "line": 11, "message": "Consider documenting the empty-list behaviour in the README."}],
        }, indent=2) + "\n```", 1390, 88),
    ]),
    ("@docs/documenter/1", [
        say("", 1620, 190, [("call_d1", "write-file", {"path": "README.md", "content": README}),
                            ("call_d2", "write-file", {"path": "CHANGELOG.md", "content": CHANGELOG})]),
        say("Documented mean()'s empty-list behaviour in the README and added a CHANGELOG entry.", 1905, 19),
    ]),
]

out = [{"stream": s, "seq": i, "response": r} for s, replies in session for i, r in enumerate(replies)]
with open("calc-session.json", "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
