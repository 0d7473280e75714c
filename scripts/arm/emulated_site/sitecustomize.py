"""Emulation glue for scripts/arm/check_wheel_emulated.sh, not part of the package.

Under qemu-user without binfmt_misc, a guest process cannot exec an aarch64 binary, so
``multiprocessing`` (the sweep's process pool, forkserver or spawn) cannot start its workers
with ``sys.executable``. Point it at the host shell script in ``EDGEQUANT_PYARM`` instead, which
starts the same emulated interpreter under qemu-aarch64 (the kernel runs a ``#!`` script with the
host's shell). On a real aarch64 machine this file is never on the path.
"""

import os

if os.environ.get("EDGEQUANT_PYARM"):
    import multiprocessing

    multiprocessing.set_executable(os.environ["EDGEQUANT_PYARM"])
