#!/bin/sh
# setup.sh: installs what the end-to-end tests need (the pinned @anthropic-ai/sdk and Claude Code
# CLI from package-lock.json) and checks the Claude Code binary runs. Idempotent: when
# node_modules already matches the lock file and the CLI answers --version, it does nothing.
set -eu
cd "$(dirname "$0")"

die() {
        echo "tests/e2e/setup.sh: $*" >&2
        exit 1
}

command -v node >/dev/null 2>&1 || die "node (>= 20) is required: apt-get install nodejs npm"
command -v npm >/dev/null 2>&1 || die "npm is required: apt-get install npm"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
        die "node >= 20 is required (found $(node --version))"
command -v curl >/dev/null 2>&1 || die "curl is required: apt-get install curl"

claude_bin() {
        for c in node_modules/.bin/claude node_modules/@anthropic-ai/claude-code-linux-x64/claude; do
                if [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then
                        echo "$c"
                        return 0
                fi
        done
        return 1
}

stamp=node_modules/.setup-stamp
want=$(cksum <package-lock.json)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && claude_bin >/dev/null; then
        echo "tests/e2e: node_modules up to date ($(claude_bin) $("$(claude_bin)" --version))"
        exit 0
fi

# Claude Code 2.1.x asks for node >= 22 but runs on 20; the engine warning is expected.
npm ci --no-audit --no-fund --loglevel=error
bin=$(claude_bin) || die "the Claude Code CLI did not install (looked in node_modules/.bin and \
node_modules/@anthropic-ai/claude-code-linux-x64)"
echo "tests/e2e: $bin $("$bin" --version)"
echo "$want" >"$stamp"
