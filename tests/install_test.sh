#!/usr/bin/env bash
# install.sh on this machine into a temp prefix and config dir: it installs a working binary and
# the starter config, and a second run changes neither (same binary mtime, config untouched).
set -euo pipefail
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config"
src="$(pwd)"
# A copy of the tree so the test's release build does not touch the checkout's build dirs.
git ls-files -z | (cd "$src" && xargs -0 tar cf -) | (mkdir -p "$tmp/src" && cd "$tmp/src" && tar xf -)
cd "$tmp/src"

./install.sh --prefix "$tmp/prefix" > "$tmp/first.log"
test -x "$tmp/prefix/bin/claude-proxy" || { echo "no binary installed"; exit 1; }
"$tmp/prefix/bin/claude-proxy" --version | grep -q '^claude-proxy ' || { echo "binary does not run"; exit 1; }
cmp -s models.yaml.example "$tmp/config/claude-proxy/models.yaml" || { echo "config not installed"; exit 1; }
echo "# my edit" >> "$tmp/config/claude-proxy/models.yaml"
before="$(stat -c %Y "$tmp/prefix/bin/claude-proxy") $(md5sum < "$tmp/config/claude-proxy/models.yaml")"

./install.sh --prefix "$tmp/prefix" > "$tmp/second.log"
after="$(stat -c %Y "$tmp/prefix/bin/claude-proxy") $(md5sum < "$tmp/config/claude-proxy/models.yaml")"
grep -q 'Up-to-date' "$tmp/second.log" || { echo "second run reinstalled:"; cat "$tmp/second.log"; exit 1; }
if grep -q 'wrote ' "$tmp/second.log" || [ "$before" != "$after" ]; then
  echo "second run changed something"; cat "$tmp/second.log"; exit 1
fi
echo "1 passed, 0 failed"
