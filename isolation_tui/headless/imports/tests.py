"""Tests: a lab's results, each filling one planned test of a person's stay."""

from __future__ import annotations

from typing import Any

from ...domain.codes import ID_TYPE
from ...domain.errors import Collector, FieldError
from ...domain.health import TEST_KIND, TEST_RESULT
from ...domain.idnumber import MAX_ID_NUMBER, normalise
from ...domain.records import is_live, person_key
from ...domain.rules import clean_text
from ...domain.timeparse import format_time, parse_time
from ...storage.health import may_fill
from .base import Importer
from .reading import Column, Row


class TestsImporter(Importer):
    # The person by ID number (or by stay id), when the sample was taken and the
    # result. An exported tests file imports again (pending rows are skipped).
    columns = (
        Column("id_type", ("证件类型",)),
        Column("id_number", ("证件号码", "证件号", "身份证号", "身份证号码"), limit=MAX_ID_NUMBER),
        Column("stay", ("入住编号",)),
        Column("name", ("姓名",)),
        Column("point", ("隔离点", "隔离点编号")),
        Column("taken_at", ("采样时间", "采样日期", "检测时间"), True),
        Column("result", ("检测结果", "结果", "核酸结果"), True),
        Column("kind", ("检测类型", "检测项目", "检测方式")),
        Column("planned_day", ("计划天次", "隔离第几天", "第几天")),
        Column("planned_date", ("计划日期", "计划检测日期")),
        Column("id", ("编号", "记录号")),
        Column("who", ("录入人",)),
    )
    one_of = ("id_number", "stay")

    reads = frozenset({"points", "stays", "tests", "incidents"})
    record_table = "tests"

    def apply(self, row: Row) -> int | None:
        """A lab's result for one planned test: the one of ``planned_day``, or else the
        person's earliest pending test (of ``kind``, when given). A result already
        stored the same is skipped; a different one is refused, not overwritten."""
        fields = row.fields
        errors = Collector()
        raw_result = clean_text(fields.get("result", ""))
        result = TEST_RESULT.parse(raw_result)
        if result == "pending":  # a row of an exported file: no result to import
            self.outcome.skipped += 1
            return None
        if not raw_result:
            errors.add("result", "error.required")
        elif result is None:
            errors.add(
                "result", "error.unknown_code", value=raw_result, choices="negative, positive"
            )
        taken_at = clean_text(fields.get("taken_at", ""))
        if not taken_at:
            errors.add("taken_at", "error.required")
        raw_kind = clean_text(fields.get("kind", ""))
        kind = TEST_KIND.parse(raw_kind)
        if raw_kind and kind is None:
            errors.add("kind", "error.unknown_code", value=raw_kind, choices=TEST_KIND.choices())
        raw_day = clean_text(fields.get("planned_day", ""))
        day = int(raw_day) if raw_day.isascii() and raw_day.isdigit() else None
        if raw_day and day is None:
            errors.add("planned_day", "error.not_number", value=raw_day)
        stay_id = self._tested_stay(fields, errors)
        errors.raise_if_any()
        assert stay_id is not None and result is not None
        moment = parse_time(taken_at, self.store.clock())
        when = format_time(moment) if moment else ""
        test_id, test = self._planned_test(stay_id, day, kind, when)
        if test["result"] != "pending":
            if test["result"] == result and when == test["taken_at"]:
                self.outcome.skipped += 1  # sent again: already stored exactly so
                return None
            raise FieldError(
                "result",
                "import.test_has_result",
                day=test["planned_day"],
                result=TEST_RESULT.label(test["result"]),
                taken_at=test["taken_at"],
            )
        if self.store.health.record_result(test_id, result, taken_at) is not None:
            self.outcome.positive += 1
        return test_id

    def _tested_stay(self, fields: dict[str, str], errors: Collector) -> int | None:
        """The stay a result is for: the person's open stay by ID number, else the stay
        of that id (an exported file's stay ids belong to its own database, so the ID
        number wins when both are given; the stay counts beside it only when it is
        that person's and they have left). Name and point are checked when given."""
        raw_type = clean_text(fields.get("id_type", ""))
        id_type = ID_TYPE.parse(raw_type or "resident_id")
        if id_type is None:
            errors.add("id_type", "error.unknown_code", value=raw_type, choices=ID_TYPE.choices())
        number = normalise(clean_text(fields.get("id_number", "")))
        raw_stay = clean_text(fields.get("stay", ""))
        stay_id: int | None = None
        if number:
            stay_id = self.store.open_stay_of(id_type, number) if id_type else None
            if stay_id is None and id_type:
                # A result that came after the person left: the stay named beside
                # the ID number, when it is that person's.
                stay_id = self._stay_of_person(raw_stay, id_type, number)
            if stay_id is None and id_type:
                errors.add("id_number", "error.no_open_stay")
        elif raw_stay:
            found = self.store.get("stays", int(raw_stay)) if raw_stay.isdecimal() else None
            if found is None or not is_live(found):
                errors.add("stay", "error.no_record", table="stays", id=raw_stay)
            else:
                stay_id = int(raw_stay)
        else:
            errors.add("id_number", "error.required")
        if stay_id is None:
            return None
        stay = self.store.get("stays", stay_id) or {}
        name = clean_text(fields.get("name", ""))
        if name and name != stay["person"]["name"]:
            key = "import.name_mismatch" if number else "import.name_mismatch_stay"
            errors.add("name", key, name=stay["person"]["name"], stay=stay_id)
        point = clean_text(fields.get("point", ""))
        if point and point != stay["point"] and self.point_by_name.get(point) != stay["point"]:
            errors.add("point", "import.point_mismatch", point=stay["point"])
        return stay_id

    def _stay_of_person(self, raw_stay: str, id_type: str, number: str) -> int | None:
        found = self.store.get("stays", int(raw_stay)) if raw_stay.isdecimal() else None
        if found is None or not is_live(found):
            return None
        person = found["person"]
        if person_key(person["id_type"], person["id_number"]) != person_key(id_type, number):
            return None
        return int(raw_stay)

    def _planned_test(
        self, stay_id: int, day: int | None, kind: str | None, when: str
    ) -> tuple[int, dict[str, Any]]:
        """The test of ``day``; else the one whose sample was taken ``when`` (a file
        sent again), else the earliest pending one planned by then (a sample taken
        days early does not stand for a later test)."""
        tests = [
            (test_id, test)
            for test_id, test in self.store.health.tests_of(stay_id)
            if kind is None or test["kind"] == kind
        ]
        planned = ", ".join(str(test["planned_day"]) for _, test in tests) or "–"
        if day is not None:
            for test_id, test in tests:
                if test["planned_day"] == day:
                    return test_id, test
            raise FieldError("planned_day", "import.no_planned_test", day=day, days=planned)
        for test_id, test in tests:
            if when and test["taken_at"] == when and test["result"] != "pending":
                return test_id, test
        for test_id, test in tests:
            if test["result"] == "pending" and (not when or may_fill(test, when)):
                return test_id, test
        raise FieldError("planned_day", "import.no_pending_test", days=planned)
