#!/usr/bin/env bash
# The README's demo command: installs what the kiosk needs, then opens it on seeded demo data with
# simulated devices (no hardware, no broker). Extra arguments go to `memberkiosk demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."
source image-build/bootstrap.sh
bootstrap demo
exec "$VENV/bin/memberkiosk" demo "$@"
