"""Engine tests run only where the build has the engine (edgequant._engine)."""

import pytest

from edgequant.engine import engine_available

if not engine_available():
    pytest.skip("edgequant built without the inference engine", allow_module_level=True)
