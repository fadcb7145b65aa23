"""Development tools kept outside the runtime package.

Native libraries get one thread each (numpy's BLAS, rjieba's rayon pool) before anything
imports them: the machine is shared, and timings must not depend on how many cores a library
decides to grab. Set a variable yourself to override.
"""

import os

for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
