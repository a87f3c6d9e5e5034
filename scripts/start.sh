#!/usr/bin/env bash
# Concord's one-command start on a fresh Debian machine with Node >= 20.19:
# install dependencies, run the keygen demo, build the extension, start the bridge (SQLite store in ./data).
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Concord needs Node >= 20.19 (found "+process.version+")"); process.exit(1); }'

bash scripts/npm-install.sh

echo "==> Keygen demo"
npm run --silent demo

echo
echo "==> Building the extension"
npm run --silent build >/dev/null
HOST="${CONCORD_BRIDGE_HOST:-127.0.0.1}"
PORT="${CONCORD_BRIDGE_PORT:-8787}"
cat <<MSG

The extension is built in: $(pwd)/dist/extension
Load it in Chromium or Chrome:
  1. open chrome://extensions
  2. switch on "Developer mode" (top right)
  3. click "Load unpacked" and choose $(pwd)/dist/extension
The extension talks to the bridge at ws://${HOST}:${PORT} (change it in the extension's Settings).
Each Chromium profile with the extension is one signing device; use two or three to make a vault.
For a local chain at 127.0.0.1:8545 (the extension's preset), run \`npm run chain\` in another terminal.

==> Starting the bridge on ws://${HOST}:${PORT} (data in ./data; Ctrl-C to stop)
MSG
exec npm run --silent bridge -- --host "$HOST" --port "$PORT" --data-dir ./data
