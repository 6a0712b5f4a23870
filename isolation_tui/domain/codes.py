"""Coded values: what is stored (English codes) and what people may type for them.

Each code is stored as its English code and shown through the catalogues
(``category.inbound`` …). Input accepts the code, its English and Chinese labels,
and the Chinese words a spreadsheet is likely to carry.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import catalogue, t


@dataclass(frozen=True)
class CodeSet:
    name: str
    codes: tuple[str, ...]
    aliases: dict[str, str]

    def label(self, code: str, lang: str | None = None) -> str:
        return t(f"{self.name}.{code}", lang=lang) if code in self.codes else code

    def parse(self, text: str) -> str | None:
        """The code for what someone typed, or None when it is not one of ours."""
        key = text.strip().lower()
        if not key:
            return None
        for code in self.codes:
            if key == code:
                return code
            for lang in ("en", "zh"):
                label = catalogue(lang).get(f"{self.name}.{code}", "")
                if key == label.lower():
                    return code
        return self.aliases.get(key)

    def choices(self) -> str:
        """The codes, each with its label in the current language where that differs."""
        return ", ".join(
            code if self.label(code) == code else f"{code} ({self.label(code)})"
            for code in self.codes
        )


CATEGORY = CodeSet(
    "category",
    ("inbound", "close_contact", "secondary_contact", "high_risk_area", "other"),
    {
        "境外输入": "inbound",
        "入境": "inbound",
        "密接": "close_contact",
        "次密接": "secondary_contact",
    },
)
ID_TYPE = CodeSet(
    "id_type",
    ("resident_id", "passport", "other"),
    {"身份证": "resident_id", "居民身份证": "resident_id", "id": "resident_id", "护照": "passport"},
)
SEX = CodeSet("sex", ("male", "female", "unknown"), {"m": "male", "f": "female", "": "unknown"})
DISCHARGE_KIND = CodeSet(
    "discharge_kind",
    ("released_home", "hospital", "other_point", "absconded", "deceased", "other"),
    {
        "解除隔离": "released_home",
        "返家": "released_home",
        "转院": "hospital",
        "转定点医院": "hospital",
    },
)
# Exits that end a stay in the worst way: chosen on purpose, never by a slip.
GRAVE_KINDS = frozenset({"absconded", "deceased"})
INCIDENT_KIND = CodeSet(
    "incident_kind",
    (
        "fever",
        "positive_test",
        "medical",
        "mental_health",
        "abscond",
        "conflict",
        "facility",
        "supply",
        "other",
    ),
    {"阳性": "positive_test", "核酸阳性": "positive_test", "发烧": "fever", "出逃": "abscond"},
)
INCIDENT_STATUS = CodeSet(
    "incident_status",
    ("draft", "open", "handled"),
    {"未处置": "open", "处置中": "open", "已处理": "handled"},
)
SEVERITY = CodeSet(
    "severity", ("1", "2", "3", "4"), {"低": "1", "中": "2", "高": "3", "危急": "4", "紧急": "4"}
)

STAFF_ROLE = CodeSet(
    "staff_role",
    ("medical", "nursing", "police", "cleaning", "catering", "cadre", "other"),
    {
        "医生": "medical",
        "医护": "medical",
        "护士": "nursing",
        "警察": "police",
        "公安": "police",
        "保洁": "cleaning",
        "餐饮": "catering",
        "送餐": "catering",
        "干部": "cadre",
        "机关干部": "cadre",
    },
)

YES_NO = CodeSet("yes_no", ("yes", "no"), {"是": "yes", "否": "no", "y": "yes", "n": "no"})

TRANSFERRED = ("hospital", "other_point")
OTHER_EXITS = ("absconded", "deceased", "other")

DEFAULT_QUARANTINE_DAYS = {
    "inbound": 14,
    "close_contact": 14,
    "secondary_contact": 7,
    "high_risk_area": 7,
    "other": 14,
}
