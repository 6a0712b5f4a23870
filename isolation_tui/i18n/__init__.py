"""Message catalogues (zh, en) and the current language.

Pure Python, no Textual: the domain, the store and the headless commands use it too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

LANGUAGES = ("zh", "en")
_current = "en"


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """``zh`` when the locale says Chinese (``LANG=zh_CN.UTF-8``), else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("ISOLATION_TUI_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def set_language(lang: str) -> None:
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _current = lang


def current_language() -> str:
    return _current


def _load(lang: str) -> dict[str, str]:
    return orjson.loads(Path(__file__).with_name(f"{lang}.json").read_bytes())


# Read once, at import: an error message must not need a file (or an import) at the
# moment it is shown, when the disk may be full or the process may have lost access.
_CATALOGUES = {lang: _load(lang) for lang in LANGUAGES}


def catalogue(lang: str) -> dict[str, str]:
    return _CATALOGUES[lang]


def t(key: str, /, lang: str | None = None, **params: Any) -> str:
    """The message ``key`` in the current language, with ``{name}`` fields filled in.

    An unknown key shows as itself so a missing translation is visible, never a crash.
    """
    template = catalogue(lang or _current).get(key)
    if template is None:
        template = catalogue("en").get(key, key)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
