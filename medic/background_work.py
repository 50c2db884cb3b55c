"""The background work a process runs, composed per command:

* `medic up`: everything in one process: Dramatiq worker threads on an in-process
  broker (or Redis), and the scheduler loop in a thread;
* `medic worker`: Dramatiq workers only;
* `medic scheduler`: the scheduler loop only (any number may run).
"""

from __future__ import annotations

import logging

from dramatiq import Worker

from medic.actors import declare_actors
from medic.actors.broker import make_broker
from medic.config import Settings
from medic.db import Database
from medic.scheduler.loop import Scheduler
from medic.scheduler.wakeup import PostgresListener

log = logging.getLogger(__name__)


class BackgroundWork:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        worker: bool = True,
        scheduler: bool = True,
        broker_namespace: str | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.broker = make_broker(settings, broker_namespace)
        self.actors = declare_actors(self.broker, db, settings, broker_namespace)
        self.worker: Worker | None = None
        self.scheduler: Scheduler | None = None
        self.listener: PostgresListener | None = None
        if worker:
            self.worker = Worker(
                self.broker, worker_threads=settings.medic_worker_threads, worker_timeout=100
            )
        if scheduler:
            self.scheduler = Scheduler(db, settings, self.actors)
            if not settings.is_sqlite:
                self.listener = PostgresListener(settings.libpq_url, db.wakeup)

    def start(self) -> None:
        if self.worker is not None:
            # Only the dramatiq CLI emits process_boot; without it time limits never fire.
            self.broker.emit_after("process_boot")
            self.worker.start()
        if self.listener is not None:
            self.listener.start()
        if self.scheduler is not None:
            self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.listener is not None:
            self.listener.stop()
        if self.worker is not None:
            self.worker.stop()
        self.broker.close()
