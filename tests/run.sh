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
# Two workers (CI has two cores; much of the suite waits on subprocesses, brokers and fsync), a test file each at a
# time so module fixtures are made once; the one machine-wide service (pcscd) is taken under a lock by the module
# that runs it (tests/drivers/conftest.py). MEMBERKIOSK_TEST_WORKERS=0 runs serially.
exec "$VENV/bin/python" -m pytest -n "${MEMBERKIOSK_TEST_WORKERS:-2}" --dist loadfile "$@"
