"""Staff and duty in the store, on both stores: on and off duty, periods that never
overlap, corrections and voids that keep the history, the over-limit flag as the
clock moves, and the allowance days of a month."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from conftest import Clock

from isolation_tui.domain.errors import FieldError, ValidationFailed
from isolation_tui.domain.staff import duty_days, hours_by_day, parse_month
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.staff import overlaps
from isolation_tui.storage.tables import DUTY, STAFF

ROOMS = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 29, 9, 30))


@pytest.fixture
def staffed(location: str, clock: Clock) -> Iterator[Store]:
    store = open_store(location, create=True, actor=Actor("tester"), clock=clock)
    store.save_point("DD01", "一号点", ROOMS)  # type: ignore[arg-type]
    store.save_point("DD02", "二号点", ROOMS)  # type: ignore[arg-type]
    yield store
    store.close()


def nurse(store: Store, name: str = "王护士", point: str = "DD01") -> int:
    return store.staff.add_staff(
        {"point": point, "name": name, "role": "护士", "phone": "138 0000 1234"}
    )


def test_a_staff_member_is_stored_with_their_role_code_and_audited(staffed: Store) -> None:
    staff_id = nurse(staffed)
    doc = staffed.get(STAFF, staff_id)
    assert doc is not None
    assert (doc["name"], doc["role"], doc["phone"]) == ("王护士", "nursing", "138 0000 1234")
    assert [e["action"] for e in staffed.history(STAFF, staff_id)] == ["create"]


def test_bad_staff_fields_are_all_named_and_nothing_is_stored(staffed: Store) -> None:
    with pytest.raises(ValidationFailed) as caught:
        staffed.staff.add_staff({"point": "XX", "name": "", "role": "chef", "phone": "abc"})
    assert {e.field for e in caught.value.errors} == {"point", "name", "role", "phone"}
    assert staffed.rows(STAFF) == {}


def test_on_and_off_duty_make_one_period(staffed: Store, clock: Clock) -> None:
    staff_id = nurse(staffed)
    assert staffed.staff.toggle_duty(staff_id) is True
    assert staffed.counters()["DD01"].on_duty == 1
    assert staffed.counters()["*"].on_duty == 1
    clock.now = datetime(2026, 11, 29, 17, 45)
    assert staffed.staff.toggle_duty(staff_id, "17:30") is False
    ((period_id, period),) = staffed.staff.periods_of(staff_id)
    assert (period["start"], period["end"]) == ("2026-11-29 09:30", "2026-11-29 17:30")
    assert [e["action"] for e in staffed.history(DUTY, period_id)] == ["create", "off_duty"]
    assert staffed.counters()["DD01"].on_duty == 0


def test_a_period_overlapping_another_is_refused(staffed: Store, clock: Clock) -> None:
    staff_id = nurse(staffed)
    staffed.staff.start_duty(staff_id, "2026-11-29 08:00")
    staffed.staff.end_duty(staff_id, "2026-11-29 09:00")
    with pytest.raises(FieldError) as caught:
        staffed.staff.start_duty(staff_id, "2026-11-29 08:30")
    assert caught.value.key == "error.duty_overlap"
    assert "2026-11-29 08:00 → 2026-11-29 09:00" in caught.value.message
    first = staffed.staff.start_duty(staff_id, "2026-11-29 09:00")  # back to back is fine
    staffed.staff.end_duty(staff_id, "09:20")
    # An open period admits nothing after its start, and a start in the future is refused.
    with pytest.raises(FieldError):
        staffed.staff.correct_period(first, "2026-11-29 08:59", "", "typo")
    with pytest.raises(FieldError) as future:
        staffed.staff.start_duty(staff_id, "2026-11-29 11:00")
    assert future.value.key == "error.future"
    assert len(staffed.rows(DUTY)) == 2
    assert list(overlaps(staffed)) == []


def test_correct_and_void_keep_the_history(staffed: Store) -> None:
    staff_id = nurse(staffed)
    period = staffed.staff.start_duty(staff_id, "2026-11-29 08:00")
    staffed.staff.correct_period(period, "2026-11-29 07:30", "2026-11-29 09:00", "早到了")
    with pytest.raises(FieldError) as backwards:
        staffed.staff.correct_period(period, "09:00", "08:00", "typo")
    assert backwards.value.key == "error.duty_end_before_start"
    staffed.staff.void_period(period, "录错人")
    doc = staffed.get(DUTY, period)
    assert doc is not None and doc["voided"]["reason"] == "录错人"
    assert [e["action"] for e in staffed.history(DUTY, period)] == ["create", "correct", "void"]
    assert staffed.counters()["DD01"].on_duty == 0
    # A voided period no longer blocks the time it held.
    staffed.staff.start_duty(staff_id, "2026-11-29 08:00")
    with pytest.raises(FieldError) as on_duty:
        staffed.staff.void_staff(staff_id, "离职")
    assert on_duty.value.key == "error.staff_on_duty_void"
    staffed.staff.correct_staff(staff_id, {"phone": "139 1111 2222"}, "换号")
    assert staffed.get(STAFF, staff_id)["phone"] == "139 1111 2222"  # type: ignore[index]


def test_check_reports_periods_that_overlap(staffed: Store) -> None:
    """Stored around the rules (an old version, an edit outside the program)."""
    from isolation_tui.headless.check import problems

    staff_id = nurse(staffed)
    with staffed.transaction():
        for start, end in (("2026-11-28 08:00", "2026-11-28 20:00"), ("2026-11-28 19:00", "")):
            staffed._create(DUTY, {"point": "DD01", "staff": staff_id, "start": start, "end": end})
    assert [(s, a, b) for s, a, b in overlaps(staffed)] == [(staff_id, 1, 2)]
    found = list(problems(staffed))
    assert any("#1" in line and "#2" in line and "王护士" in line for line in found), found


def test_over_the_limit_as_the_clock_moves(staffed: Store, clock: Clock) -> None:
    staff_id = nurse(staffed)
    staffed.staff.start_duty(staff_id, "2026-11-29 08:00")
    assert staffed.counters()["DD01"].over_limit == 0
    assert staffed.staff.next_flag(clock.now) == datetime(2026, 11, 29, 20, 1)
    clock.now = datetime(2026, 11, 29, 20, 0)
    assert staffed.counters()["DD01"].over_limit == 0
    clock.now = datetime(2026, 11, 29, 20, 1)
    assert staffed.counters()["DD01"].over_limit == 1
    assert staffed.staff.next_flag(clock.now) is None
    # A point's own limit.
    staffed.staff.set_rules("DD01", limit_hours="14")
    assert staffed.counters()["DD01"].over_limit == 0
    assert staffed.staff.rules("DD01").limit_hours == 14
    assert staffed.staff.rules("DD02").limit_hours == 12


def test_settings_refuse_what_is_not_a_rule(staffed: Store) -> None:
    with pytest.raises(ValidationFailed) as caught:
        staffed.staff.set_rules("DD01", limit_hours="0", rates=["chef=100", "护理=abc"])
    assert [e.field for e in caught.value.errors] == ["limit", "rate", "rate"]
    rules = staffed.staff.set_rules("DD01", day_hours="6", rates=["医疗=180"])
    assert (rules.day_hours, rules.rates["medical"], rules.rates["nursing"]) == (6, 180, 200)
    with pytest.raises(FieldError):
        staffed.staff.set_rules("XX", limit_hours="10")


def test_days_of_duty_split_at_midnight() -> None:
    periods = [
        ("2022-03-01 20:00", "2022-03-02 08:00"),  # 4 h on the 1st, 8 h on the 2nd
        ("2022-03-03 09:00", "2022-03-03 12:00"),  # 3 h: not a day at 4 h
        ("2022-03-31 22:00", "2022-04-01 10:00"),  # 2 h in March
    ]
    now = datetime(2022, 4, 2)
    assert hours_by_day(periods, now)[date(2022, 3, 2)] == 8
    assert duty_days(periods, "2022-03", 4, now) == [date(2022, 3, 1), date(2022, 3, 2)]
    assert duty_days(periods, "2022-03", 3, now)[-1] == date(2022, 3, 3)
    assert duty_days(periods, "2022-04", 4, now) == [date(2022, 4, 1)]
    assert parse_month("2022年3月") == "2022-03"
    with pytest.raises(FieldError):
        parse_month("March")


def test_the_handover_lists_who_is_on_duty_with_the_flags(staffed: Store, clock: Clock) -> None:
    from isolation_tui.headless.handover_report import render

    long_one = staffed.staff.add_staff(
        {"point": "DD01", "name": "*李* <b>[red]x[/]</b>", "role": "medical"}
    )
    staffed.staff.start_duty(long_one, "2026-11-28 20:00")
    staffed.staff.start_duty(nurse(staffed), "2026-11-29 08:00")
    nurse(staffed, "别处的人", point="DD02")
    summary = staffed.handovers.summary("DD01")
    people = summary["on_duty"]["people"]
    assert [(p["name"], p["hours"], p["over"]) for p in people] == [
        ("*李* <b>[red]x[/]</b>", 13.5, True),
        ("王护士", 1.5, False),
    ]
    text = render(summary, "", None, "txt")
    assert "On duty: 2 (1 over the limit)" in text
    assert "#1 *李* <b>[red]x[/]</b> medical since 11-28 20:00, 13.5 h ⚠ over the limit" in text
    assert "#2 王护士 nursing since 11-29 08:00, 1.5 h" in text
    markdown = render(summary, "", None, "md")
    assert "\\*李\\* \\<b>[red]x[/]\\</b>" in markdown  # no tag can start
    html = render(summary, "", None, "html")
    assert "&lt;b&gt;[red]x[/]&lt;/b&gt;" in html and "<b>[red]" not in html
    # The handover of all points names each one's point.
    assert "DD01 #1 *李*" in render(staffed.handovers.summary(None), "", None, "txt")


def heard(store: Store) -> None:
    """Refresh as the terminal program does, until the other session's write is in
    (on PostgreSQL its notification comes a moment after the commit)."""
    for _ in range(200):
        if store.refresh():
            return
        time.sleep(0.01)
    raise AssertionError("the other session's write never came")


def test_another_session_sees_who_went_on_duty(staffed: Store, location: str, clock: Clock) -> None:
    """Two sessions on one database: one puts a nurse on duty, the other counts her
    at its next refresh and refuses to put her on duty a second time."""
    staff_id = nurse(staffed)
    other = open_store(location, actor=Actor("other"), clock=clock)
    try:
        staffed.staff.start_duty(staff_id, "08:00")
        heard(other)
        assert other.counters()["DD01"].on_duty == 1
        with pytest.raises(FieldError) as caught:
            other.staff.start_duty(staff_id)
        assert caught.value.key == "error.duty_overlap"
        other.staff.end_duty(staff_id, "09:00")
        heard(staffed)
        assert staffed.counters()["DD01"].on_duty == 0
        assert staffed.staff.periods_of(staff_id)[0][1]["end"] == "2026-11-29 09:00"
    finally:
        other.close()


def test_a_person_voided_as_a_mistake_takes_their_periods_along(staffed: Store) -> None:
    staff_id = nurse(staffed)
    staffed.staff.start_duty(staff_id, "2026-11-29 06:00")
    staffed.staff.end_duty(staff_id, "2026-11-29 08:00")
    staffed.staff.void_staff(staff_id, "录错了")
    (period,) = staffed.rows(DUTY).values()
    assert period["voided"]["reason"] == "录错了"
    assert [e["action"] for e in staffed.history(DUTY, 1)] == ["create", "off_duty", "void"]
