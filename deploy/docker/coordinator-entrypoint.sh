#!/bin/sh
# The coordinator image's entrypoint: reads /app/config.json when one is mounted there.
set -e
if [ -f /app/config.json ]; then
  set -- --config /app/config.json "$@"
fi
exec node /app/dist/cli.js coordinator "$@"
