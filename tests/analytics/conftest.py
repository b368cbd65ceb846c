"""Both analytics engines, so every example runs on the pure reference and on the Cython kernels."""
from __future__ import annotations

import pytest

import core.analytics
import native


@pytest.fixture(params=["reference", "native"])
def engine(request):
    """core.analytics, or the `native` module's kernels (skipped, with the reason, when they are not built)."""
    if request.param == "reference":
        return core.analytics
    if not native.AVAILABLE:
        pytest.skip(f"native kernels not in use ({native.REASON}); `pip install -e .` builds them")
    return native
