"""How the bridge's processes run Python's cyclic garbage collector, set once the process has started.

By default the collector runs after every 700 new container objects: several times for each batch of
events, each time walking the objects of every request still waiting on its commit, and in the delivery
process those of a step's decoded items. Every 10,000, a batch cost the bridge about half the CPU, and
the delivery process a tenth less (bench/README.md); cyclic garbage (rare here) waits a little longer.
What the process built before it serves (FastAPI's routes, pydantic's schemas, the imports: some 100,000
objects in the bridge) lives as long as the process: frozen, the collector no longer walks it.
"""

from __future__ import annotations

import gc

FIRST_GENERATION = 10_000


def settle() -> None:
    """Freeze what exists now and collect the first generation every FIRST_GENERATION objects."""
    gc.freeze()
    gc.set_threshold(FIRST_GENERATION, *gc.get_threshold()[1:])
