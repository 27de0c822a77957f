#!/usr/bin/env bash
# Fresh Debian 12 machine -> a running redpack-sim with the demo world.
# Installs what is missing, builds, makes demo certificates in var/certs,
# prints a copy-paste example, then runs the server in the foreground.
# Extra arguments go to redpack-sim (for example --listen 0.0.0.0:8443).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
if [ ! -f var/certs/ca.pem ]; then
  mkdir -p var
  bash scripts/gen-certs.sh var/certs fixtures/default.json
fi
cat <<'TXT'
redpack-sim: demo merchant 10000098 (key 192006250b4c09247ec02edce69f6a2d),
certificates in var/certs. In another shell, send a group red packet:

    scripts/example-send.sh https://127.0.0.1:8443

Control API: curl http://127.0.0.1:8444/healthz     Stop: Ctrl-C
TXT
exec build/redpack-sim --fixtures fixtures/default.json --db var/redpack.db \
  --tls-cert var/certs/server.pem --tls-key var/certs/server.key --client-ca var/certs/ca.pem "$@"
