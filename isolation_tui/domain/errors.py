"""Rule violations: each names the field and carries a translatable message."""

from __future__ import annotations

from typing import Any

from ..i18n import t


class FieldError(Exception):
    """One rule broken by one field; ``message`` is in the current language."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        self.field = field
        self.key = key
        self.params = params
        super().__init__(field, key)

    @property
    def message(self) -> str:
        params = dict(self.params)
        if "table" in params:
            # Tables are named as people call them, in their language ("人员", not "stays").
            params["table"] = t(f"activity.table_{params['table']}")
        return t(self.key, **params)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationFailed(Exception):
    """Several field errors at once; nothing was stored."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(errors)

    def __str__(self) -> str:
        return "; ".join(str(e) for e in self.errors)


class Collector:
    """Gathers field errors so a form or a CSV row reports all of them at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, key: str, **params: Any) -> None:
        self.errors.append(FieldError(field, key, **params))

    def has(self, field: str) -> bool:
        return any(e.field == field for e in self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
