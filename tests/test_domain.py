"""The pure rules: ID numbers, times, field parsing, counters."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from isolation_tui.domain.codes import CATEGORY, DISCHARGE_KIND, SEVERITY
from isolation_tui.domain.counters import ALL, compute
from isolation_tui.domain.errors import ValidationFailed
from isolation_tui.domain.health import TEST_RESULT
from isolation_tui.domain.idnumber import (
    birth_date_of,
    check_digit,
    id_number_problem,
    make_resident_id,
    normalise,
    resident_id_problem,
    sex_of,
)
from isolation_tui.domain.records import mask, person_key, release_due
from isolation_tui.domain.rules import (
    arrival_from_fields,
    clean_text,
    closing_fields,
    incident_from_fields,
)
from isolation_tui.domain.timeparse import parse_time
from isolation_tui.i18n import set_language

NOW = datetime(2026, 11, 29, 9, 30)
POINT = {
    "code": "DD01",
    "name": "一号点",
    "address": "",
    "rooms": [{"code": "101", "floor": "1", "beds": 1, "blocked": False}],
    "quarantine_days": {"inbound": 14, "close_contact": 10},
}


def fields(**overrides: str) -> dict[str, str]:
    base = {
        "point": "DD01",
        "name": "王小明",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
        "category": "inbound",
        "arrived_at": "2026-11-28 14:05",
    }
    base.update(overrides)
    return base


def test_gb11643_reference_number_passes_and_tampering_fails() -> None:
    assert resident_id_problem("11010519491231002X") is None
    assert check_digit("11010519491231002") == "X"
    assert resident_id_problem("110105194912310021") == "error.id_check_digit"
    assert resident_id_problem("11010519491331002X") == "error.id_birth_date"
    assert resident_id_problem("1101051949123100") == "error.id_length"
    assert resident_id_problem("1101051949123100AX") == "error.id_chars"
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert sex_of("11010519491231002X") == "female"


def test_made_ids_are_valid() -> None:
    number = make_resident_id("210602", date(1990, 3, 25), 517)
    assert resident_id_problem(number) is None
    assert sex_of(number) == "male"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-03-25 14:05", datetime(2022, 3, 25, 14, 5)),
        ("2022/3/25 14:05", datetime(2022, 3, 25, 14, 5)),
        ("2022年3月25日 14时05分", datetime(2022, 3, 25, 14, 5)),
        ("2022-03-25", datetime(2022, 3, 25)),
        ("14:05", datetime(2026, 11, 29, 14, 5)),
        ("now", datetime(2026, 11, 29, 9, 30)),
        ("2022-02-30 10:00", None),
        ("yesterday", None),
        ("25:00", None),
    ],
)
def test_times_as_people_type_them(text: str, expected: datetime | None) -> None:
    assert parse_time(text, NOW) == expected


def test_arrival_takes_birth_and_sex_from_the_id_and_point_default_days() -> None:
    stay = arrival_from_fields(fields(category="密接"), {"DD01": POINT}, NOW)
    assert stay["person"]["birth_date"] == "1949-12-31"
    assert stay["person"]["sex"] == "female"
    assert stay["category"] == "close_contact"
    assert stay["quarantine_days"] == 10
    assert stay["release_due"] == "2026-12-08"


def test_arrival_reports_every_broken_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        arrival_from_fields(
            fields(
                name="",
                id_number="110105194912310021",
                category="tourist",
                arrived_at="2026-11-30 10:00",
                point="XX",
            ),
            {"DD01": POINT},
            NOW,
        )
    assert [e.field for e in caught.value.errors] == [
        "point",
        "name",
        "id_number",
        "category",
        "arrived_at",
    ]


def test_birth_date_must_agree_with_resident_id() -> None:
    with pytest.raises(ValidationFailed) as caught:
        arrival_from_fields(fields(birth_date="1950-01-01"), {"DD01": POINT}, NOW)
    (error,) = caught.value.errors
    assert error.field == "birth_date"
    assert "1949-12-31" in error.message


def test_messages_follow_the_language() -> None:
    set_language("zh")
    with pytest.raises(ValidationFailed) as caught:
        arrival_from_fields(fields(name=""), {"DD01": POINT}, NOW)
    assert caught.value.errors[0].message == "必填"


def test_control_characters_are_stripped_but_markup_kept() -> None:
    assert clean_text("a\x1b[31m[red]x[/]\x00b\n") == "a[31m[red]x[/]b"


def test_codes_accept_english_and_chinese() -> None:
    assert CATEGORY.parse("境外回国") == "inbound"
    assert DISCHARGE_KIND.parse("期满返家") == "released_home"
    assert DISCHARGE_KIND.parse("Released home") == "released_home"
    assert SEVERITY.parse("危急") == "4"
    assert CATEGORY.parse("nonsense") is None


def test_incident_closes_only_with_resolution_and_not_before_it_happened() -> None:
    incident = incident_from_fields(
        {
            "point": "DD01",
            "occurred_at": "2026-11-29 08:00",
            "kind": "fever",
            "severity": "2",
            "summary": "38.5",
        },
        {"DD01": POINT},
        NOW,
    )
    with pytest.raises(ValidationFailed) as caught:
        closing_fields(incident, "  ", "2026-11-29 07:00", NOW)
    assert {e.field for e in caught.value.errors} == {"resolution", "handled_at"}
    assert closing_fields(incident, "sent to hospital", "09:00", NOW)["status"] == "handled"


def test_release_due_counts_extensions() -> None:
    extension = {"days": 3, "reason": "r", "who": "w", "at": "x"}
    assert release_due("2026-11-01 23:59", 14, [extension]) == "2026-11-18"


def test_masks_keep_only_the_ends() -> None:
    assert mask("210602199001011234") == "2106**********1234"
    assert mask("13812345678") == "138*****678"
    assert mask("E1234567") == "E1****67"
    assert mask("abc") == "***"


def test_counters_are_derived_and_exclude_voided() -> None:
    def stay(point: str, status: str, due: str, voided: bool = False) -> dict[str, object]:
        return {
            "point": point,
            "status": status,
            "room": "101",
            "release_due": due,
            "voided": {"reason": "x"} if voided else None,
        }

    stays = [
        stay("A", "open", "2026-11-29"),
        stay("A", "open", "2026-11-20"),
        stay("B", "discharged", "2026-11-01"),
        stay("B", "open", "2026-12-01", voided=True),
    ]
    discharges = [{"point": "B", "kind": "hospital"}]
    incidents = [{"point": "A", "status": "open"}, {"point": "B", "status": "handled"}]
    result = compute([POINT], stays, discharges, incidents, date(2026, 11, 29))  # type: ignore[arg-type]
    total = result[ALL]
    assert (total.received, total.in_isolation, total.transferred) == (3, 2, 1)
    assert (total.due_today, total.overdue, total.occupied_beds, total.beds) == (1, 1, 2, 1)
    assert (total.incidents_open, total.incidents_handled) == (1, 1)
    assert result["A"].received == 2


def test_a_bare_time_on_a_night_shift_is_last_night() -> None:
    just_after_midnight = datetime(2026, 11, 30, 0, 5)
    assert parse_time("23:55", just_after_midnight) == datetime(2026, 11, 29, 23, 55)
    assert parse_time("00:01", just_after_midnight) == datetime(2026, 11, 30, 0, 1)
    # Half a day back is more likely a typo: left in the future, to be refused.
    assert parse_time("19:30", NOW) == datetime(2026, 11, 29, 19, 30)


def test_years_before_1900_are_not_dates() -> None:
    assert parse_time("0999-01-01 10:00", NOW) is None
    assert parse_time("1899-12-31", NOW) is None


def test_a_resident_id_born_before_1900_is_refused_as_a_typed_birth_date_is() -> None:
    old = make_resident_id("210602", date(1850, 3, 1), 11)
    assert resident_id_problem(old) == "error.id_birth_early"
    fields = {"point": "P1", "name": "老人", "id_number": old, "category": "inbound"}
    fields["arrived_at"] = "2026-11-28 14:05"
    with pytest.raises(ValidationFailed) as excinfo:
        arrival_from_fields(fields, {"P1": {"code": "P1", "rooms": []}}, NOW)  # type: ignore[dict-item]
    assert [e.field for e in excinfo.value.errors] == ["id_number"]
    assert resident_id_problem(make_resident_id("210602", date(1900, 1, 1), 11)) is None


LOOK_ALIKES = ["M58934468", "М58934468", "M5893\u200b4468", "M58934468\u00ad", "m58934468\ufeff"]


def test_look_alike_id_numbers_are_one_person_and_foreign_letters_refused() -> None:
    assert normalise("M5893\u200b4468") == "M58934468"
    assert normalise("M58934468\u00ad") == "M58934468"
    assert normalise(" ｍ５８９３４４６８ ") == "M58934468"
    assert id_number_problem("M58934468") is None
    assert id_number_problem("A123456(7)") is None
    problem = id_number_problem(normalise("М58934468"))
    assert problem is not None
    key, params = problem
    assert key == "error.id_number_char"
    assert params["code"] == "U+041C" and "CYRILLIC" in params["name"]
    # Compared, every form is one person: nothing typed slips past the one-stay rule.
    assert len({person_key("passport", number) for number in LOOK_ALIKES}) == 1
    assert person_key("passport", "M58934468") != person_key("passport", "M58934469")


def test_an_id_number_with_a_foreign_letter_is_refused_naming_it() -> None:
    fields = {"point": "P1", "name": "Anna", "id_type": "passport", "category": "inbound"}
    fields |= {"id_number": "М58934468", "arrived_at": "2026-11-28 14:05"}
    with pytest.raises(ValidationFailed) as excinfo:
        arrival_from_fields(fields, {"P1": {"code": "P1", "rooms": []}}, NOW)  # type: ignore[dict-item]
    (error,) = excinfo.value.errors
    assert error.field == "id_number"
    assert "“М” (CYRILLIC CAPITAL LETTER EM, U+041C)" in error.message


def test_reordering_characters_are_stripped() -> None:
    assert clean_text("Bob\u202eevil\u2066x") == "Bobevilx"
    assert clean_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # joiners stay: one emoji


def test_choices_name_each_code_in_the_language() -> None:
    set_language("zh")
    assert "negative (阴性)" in TEST_RESULT.choices()
    set_language("en")
    assert TEST_RESULT.choices() == "pending, negative, positive"
