#!/usr/bin/env bash
# The README's test command: installs what the suite needs and runs all of it. The services the tests
# use (pcscd with the vpcd reader, mosquitto, Xvfb) are started and stopped by the tests' own fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
source image-build/bootstrap.sh
bootstrap test
export PYTHONDONTWRITEBYTECODE=1
# The kernels are built by bootstrap: if they did not build, fail the suite instead of skipping their tests.
[ "${MEMBERKIOSK_SKIP_NATIVE:-}" = 1 ] || export MEMBERKIOSK_REQUIRE_NATIVE=1
exec "$VENV/bin/python" -m pytest "$@"
