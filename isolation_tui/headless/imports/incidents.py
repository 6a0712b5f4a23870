"""Incidents: what happened at a point, open or already handled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.records import is_live
from ...domain.rules import incident_from_fields
from ...storage.repository import Store
from ...storage.tables import INCIDENTS
from .base import Importer, Outcome
from .reading import Column, Row, Table


def _same(incident: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """What makes two incidents one: a file sent twice, or a row repeated."""
    return (incident["point"], incident["occurred_at"], incident["kind"], incident["summary"])


class IncidentsImporter(Importer):
    columns = (
        Column("point", ("隔离点", "隔离点编号"), True),
        Column("occurred_at", ("发生时间",), True),
        Column("kind", ("事件类型", "类型"), True),
        Column("severity", ("严重程度", "级别"), True),
        Column("summary", ("概要", "事件概要", "摘要"), True),
        Column("status", ("状态", "处置状态")),
        Column("handled_at", ("处置时间",)),
        Column("resolution", ("处置结果",)),
        Column("reported_to", ("上报", "报告对象", "上报单位")),
        Column("id", ("编号", "记录号")),
        Column("stays", ("涉及人员",)),
        Column("actions", ("处置过程",)),
        Column("voided", ("作废",)),
    )

    reads = frozenset({"points", "incidents"})
    record_table = "incidents"

    def __init__(self, store: Store, table: Table, outcome: Outcome) -> None:
        super().__init__(store, table, outcome)
        self.known = {_same(doc) for doc in store.live_rows(INCIDENTS).values() if is_live(doc)}
        self._since = ""  # the earliest sealed month read into ``known`` ("": none yet)

    def _knowing(self, occurred_at: str) -> None:
        """Know the sealed incidents that may be the same as one that occurred at
        ``occurred_at``: an incident is sealed in its month or a later one, so only
        the months from its own on are read, a month at a time (a file in time order
        reads each once)."""
        month = occurred_at[:7]
        if self._since and month >= self._since:
            return
        for rows in self.store.db.storage.sealed_parts(INCIDENTS, since=month):
            self.known.update(_same(doc) for doc in rows.values() if is_live(doc))
        self._since = month

    def apply(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self.skip(fields):
            return None
        self.point_code(fields)
        for informational in ("id", "stays", "actions", "voided"):
            fields.pop(informational, None)
        same = _same(incident_from_fields(fields, self.store.points(), self.store.clock()))
        self._knowing(same[1])
        if same in self.known:
            self.outcome.skipped += 1
            return None
        incident_id = self.store.incidents.open(fields)
        self.known.add(same)
        return incident_id
