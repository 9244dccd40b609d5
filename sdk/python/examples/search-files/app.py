"""search-files: find lines matching a regular expression in the text files
under a granted directory (Python, componentize-py)."""

import fnmatch
import os
import re

import factory_sdk as factory

MAX_FILE_BYTES = 1 << 20


class Tool(factory.Tool):
    name = "search-files"
    description = (
        "Find lines matching a regular expression in the text files under a "
        "directory (recursively). Needs a read grant on the directory."
    )
    input_schema = {
        "type": "object",
        "properties": {
            "dir": {"type": "string", "description": "absolute path of a granted directory"},
            "pattern": {"type": "string", "description": "a Python regular expression"},
            "glob": {"type": "string", "description": "only files whose name matches, e.g. *.py"},
            "ignore_case": {"type": "boolean"},
            "max_matches": {"type": "integer", "minimum": 1, "default": 100},
        },
        "required": ["dir", "pattern"],
        "additionalProperties": False,
    }

    def handle(self, args):
        unknown = set(args) - set(self.input_schema["properties"])
        if unknown:
            raise factory.InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
        try:
            regex = re.compile(args["pattern"], re.IGNORECASE if args.get("ignore_case") else 0)
        except re.error as e:
            raise factory.InvalidInput(f"pattern: {e}") from None
        limit = int(args.get("max_matches", 100))
        glob = args.get("glob")
        root = args["dir"]

        def refuse(err: OSError):
            raise err  # surfaces PermissionError as `denied`

        matches, files, truncated = [], 0, False
        for dirpath, dirnames, filenames in os.walk(root, onerror=refuse):
            dirnames.sort()
            for name in sorted(filenames):
                if glob and not fnmatch.fnmatch(name, glob):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    if os.path.getsize(path) > MAX_FILE_BYTES:
                        continue
                    with open(path, encoding="utf-8") as f:
                        lines = f.read().splitlines()
                except UnicodeDecodeError:
                    continue  # not text
                files += 1
                for number, line in enumerate(lines, 1):
                    if regex.search(line):
                        if len(matches) == limit:
                            truncated = True
                            break
                        matches.append({"path": os.path.relpath(path, root),
                                        "line": number, "text": line[:400]})
        factory.log.info(f"searched {files} files under {root}: {len(matches)} matches")
        return {"matches": matches, "files_searched": files, "truncated": truncated}
