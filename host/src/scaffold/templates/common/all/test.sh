#!/bin/sh
# The plugin's test: build it, install it into a throwaway FACTORY_HOME,
# call it with test/input.json and compare the answer with
# test/expected.json, then check that test/bad-input.json is refused as
# invalid input. Run it with `make test` (FACTORY=/path/to/factory to use
# another factory binary).
set -eu
cd "$(dirname "$0")"
FACTORY=${FACTORY:-factory}
make -s FACTORY="$FACTORY"
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export FACTORY_HOME="$home"
"$FACTORY" plugin install build/{{name}}.wasm --name {{name}} >/dev/null

got=$("$FACTORY" {{kind}} call {{name}} --input "$(cat test/input.json)")
want=$(cat test/expected.json)
if [ "$got" != "$want" ]; then
  printf 'FAIL: {{name}} answered\n  %s\nexpected\n  %s\n' "$got" "$want" >&2
  exit 1
fi

if out=$("$FACTORY" {{kind}} call {{name}} --input "$(cat test/bad-input.json)" 2>/dev/null); then
  printf 'FAIL: {{name}} accepted test/bad-input.json: %s\n' "$out" >&2
  exit 1
fi
case "$out" in
  *'"invalid-input"'*) ;;
  *) printf 'FAIL: expected an invalid-input error, got %s\n' "$out" >&2; exit 1 ;;
esac
echo "ok: {{name}} answers as expected and refuses bad input"
