"""The services a heartbeat writer has looked up before, so a batch naming only them can
skip the round trip that looks them up (medic.ingest.postgres_batch).

Nothing here is trusted: each entry keeps the hash the database computed of the columns
a batch plans with (SERVICE_HASH), and a batch planned from these entries is written
only if the database, with the rows locked, computes the same hashes; otherwise it
writes nothing and the batch is written the long way, which looks the services up
again. A renamed, reconfigured, paused, deleted or newly failing service is therefore
never planned with stale values, whoever changed it. (The hash has 64 bits and is not
cryptographic: only someone allowed to change the service could craft a colliding
change, and they could set any schedule they like directly.) No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from medic.ingest.batch import SERVICE_COLUMNS, BeatRequest, FoundServices

# hash_record_extended (PostgreSQL 14+) hashes each column with its type's own hash
# function: no text conversion, so checking a batch's rows costs little.
SERVICE_HASH = f"hash_record_extended(ROW({', '.join(SERVICE_COLUMNS)}), 0)"

# About 1.5 kB an entry: a few MB at most. Past it, the writer starts over (the long
# way refills it), which keeps every entry fresh enough to be worth checking.
KNOWN_LIMIT = 4096


class KnownServices:
    """Service rows (SERVICE_COLUMNS and their `hash`) by id, name key and uuid."""

    def __init__(self, limit: int = KNOWN_LIMIT) -> None:
        self.limit = limit
        self._by_id: dict[int, dict[str, Any]] = {}
        self._by_name: dict[str, dict[str, Any]] = {}
        self._by_uuid: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def remember(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Keep rows as the database just returned them (with their `hash`)."""
        for row in rows:
            self.forget([row["service_id"]])
            if len(self._by_id) >= self.limit:
                self.clear()
            entry = dict(row)
            self._by_id[entry["service_id"]] = entry
            self._by_name[entry["name_key"]] = entry
            self._by_uuid[entry["uuid"]] = entry

    def forget(self, service_ids: Iterable[int]) -> None:
        for service_id in service_ids:
            entry = self._by_id.pop(service_id, None)
            if entry is not None:
                if self._by_name.get(entry["name_key"]) is entry:
                    del self._by_name[entry["name_key"]]
                if self._by_uuid.get(entry["uuid"]) is entry:
                    del self._by_uuid[entry["uuid"]]

    def clear(self) -> None:
        self._by_id.clear()
        self._by_name.clear()
        self._by_uuid.clear()

    def find(self, requests: list[BeatRequest]) -> FoundServices | None:
        """The services of a batch, if every request names a known one."""
        found: dict[int, dict[str, Any]] = {}
        for request in requests:
            ref = request.ref
            if ref.name_key is not None:
                entry = self._by_name.get(ref.name_key)
            elif ref.uuid is not None:
                entry = self._by_uuid.get(ref.uuid)
            else:
                entry = None if ref.service_id is None else self._by_id.get(ref.service_id)
            if entry is None:
                return None
            found[entry["service_id"]] = entry
        return FoundServices(found.values())
