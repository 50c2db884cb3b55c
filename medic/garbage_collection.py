"""The cycle collector, tuned for a serving process.

An API worker creates almost no cyclic garbage per request, yet Python's cycle collector
cost it about 13% of its CPU under heartbeat load (bench/ingest.py, 2 workers, 64
connections), in two ways:

* Full collections walked everything imported at start-up (FastAPI, pydantic,
  SQLAlchemy, Medic's models: hundreds of thousands of objects that live as long as the
  process), about 100 ms each, once a second or so: 1.6 s of CPU per worker in 22 s,
  and the p99 of the requests they stalled. Frozen objects are never walked again. They
  are still freed by reference counting; only a start-up cycle that later became
  garbage would stay, once, which nothing here grows.
* Young collections ran whenever the objects of the requests in flight passed 700,
  about every tenth request, and found nothing to free (checked with DEBUG_SAVEALL).
  At 10,000 they ran once in 12 s of that load. A process that does make cyclic garbage
  (`medic worker`'s ORM sessions) still has it collected: it counts towards the 10,000.

After both, ingest p99 went from about 100 ms to 20-30 ms.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_THRESHOLD = 10_000


def tune_for_serving() -> None:
    """Call once the process has imported and built what it serves with, before load."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
