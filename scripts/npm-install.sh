#!/usr/bin/env bash
# Installs the npm packages from the committed lockfile, once (skipped while node_modules is newer than
# package-lock.json), and fails if installing rewrote package-lock.json: the committed lockfile must be
# exactly what `npm install` resolves, or two machines could run different dependency trees.
# Used by scripts/start.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
  exit 0
fi
echo "==> Installing npm dependencies (better-sqlite3 compiles from source: about 2 minutes, needs python3, make, g++)"
before=$(sha256sum package-lock.json)
# `npm install` rather than `npm ci`: both install exactly the locked versions; `npm install` also
# tolerates an optional per-platform package (biome's other-OS binaries) that a registry mirror lacks.
npm install --no-audit --no-fund
after=$(sha256sum package-lock.json)
if [ "$before" != "$after" ]; then
  echo "error: npm install changed package-lock.json, so the committed lockfile is not what this machine" >&2
  echo "resolves. Review 'git diff package-lock.json' and commit it (or fix package.json's pins)." >&2
  exit 1
fi
