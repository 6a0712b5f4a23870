"""The two catalogues: the same messages in both languages, every key the code
names present, and the language chosen from the locale as the README says."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from isolation_tui.i18n import (
    LANGUAGES,
    catalogue,
    current_language,
    language_from_environment,
    set_language,
    t,
)

SOURCE = Path(__file__).parents[1] / "isolation_tui"
# A message key written out in the code: t("ui.key_save"), Binding(..., "ui.key_save").
# (Coded values are labelled through their CodeSet, with keys made at run time.)
KEY_IN_CODE = re.compile(
    r'"((?:ui|error|field|counter|report|cli|check|store|export|import|handover|health'
    r'|activity)\.[a-z0-9_]+)"'
)


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_both_languages_have_the_same_messages_with_the_same_fields() -> None:
    en, zh = catalogue("en"), catalogue("zh")
    assert sorted(set(en) ^ set(zh)) == []
    differ = {
        key: (fields(en[key]), fields(zh[key])) for key in en if fields(en[key]) != fields(zh[key])
    }
    assert differ == {}
    # A message left empty in one language only is a translation forgotten.
    assert [key for key, text in zh.items() if not text.strip() and en[key].strip()] == []


def test_every_key_the_code_names_is_in_the_catalogues() -> None:
    missing = sorted(
        f"{path.relative_to(SOURCE.parent)}: {key}"
        for path in SOURCE.rglob("*.py")
        for key in KEY_IN_CODE.findall(path.read_text(encoding="utf-8"))
        if key not in catalogue("en") or key not in catalogue("zh")
    )
    assert missing == []


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"ISOLATION_TUI_LANG": "zh", "LC_ALL": "en_US.UTF-8"}, "zh"),
        ({"LANGUAGE": "zh_CN"}, "zh"),
        ({"LANG": ""}, "en"),
        ({}, "en"),
    ],
)
def test_the_language_follows_the_locale(environ: dict[str, str], lang: str) -> None:
    assert language_from_environment(environ) == lang


def test_an_unknown_language_is_refused_and_the_current_one_kept() -> None:
    set_language("zh")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        set_language("fr")
    assert current_language() == "zh"
    assert set(LANGUAGES) == {"en", "zh"}


def test_a_message_never_crashes_whatever_it_is_given() -> None:
    assert t("no.such_key") == "no.such_key"
    set_language("zh")
    assert t("counter.received") == "累计接收"
    assert t("counter.received", lang="en") == "Received"
    # Missing or odd parameters show the template rather than raise.
    assert t("check.person_twice") == catalogue("zh")["check.person_twice"]
    assert t("check.person_twice", person="{0}", count=2).count("{0}") == 1
