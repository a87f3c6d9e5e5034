#!/usr/bin/env bash
# Concord's one test command (`npm test`; CI runs exactly this): installs what the tests need —
# npm packages, Debian's Chromium for the browser tests and Debian's redis-server for the bridge
# cluster tests — then type-checks, lints and runs
# every test (unit, protocol, bridge, extension unit and end-to-end) with vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/npm-install.sh

apt_install() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "==> Installing Debian's chromium for the browser tests"
  apt_install chromium
fi

if [ ! -x /usr/bin/redis-server ]; then
  # The bridge cluster tests start their own redis-server on a free port (test/helpers/redis-server.ts).
  echo "==> Installing Debian's redis-server for the bridge cluster tests"
  apt_install redis-server
fi

echo "==> Type-check"
npx tsc -p tsconfig.json
# Svelte components: tsc does not read .svelte files.
npx svelte-check --tsconfig "$PWD/tsconfig.json" --workspace "$PWD/extension/src/ui" --fail-on-warnings
echo "==> Lint and format check"
npx biome check . --diagnostic-level=error
echo "==> Tests"
exec npx vitest run "$@"
