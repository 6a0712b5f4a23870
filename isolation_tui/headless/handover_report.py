"""The handover as people read it: on the screen, as plain text for printing, as
HTML (Rich's export) and as Markdown short enough for a messaging group.

The screen, the text and the HTML are one Rich rendering, so they cannot disagree;
the Markdown is written from the same summary and the same labels. Every line is
plain text, made safe for where it goes (no control characters anywhere; Markdown
and HTML escaped), and the report's own formatting is added around it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..domain.codes import CATEGORY, DISCHARGE_KIND, INCIDENT_KIND, SEVERITY, STAFF_ROLE
from ..domain.counters import FIGURES
from ..domain.display import for_terminal, markdown_line, markdown_lines
from ..domain.health import CHECK_STATUS, ROUND, incident_summary
from ..domain.identity import signer_label, who_label
from ..domain.supplies import format_days, item_label, unit_label
from ..i18n import t
from .csv_export import write_new_private

MARKDOWN_LIST_LIMIT = 8
FORMATS = ("md", "txt", "html", "xlsx")


def _title(summary: dict[str, Any]) -> str:
    if summary["point"]:
        where = f"{summary['point_name']} ({summary['point']})"
    else:
        where = t("ui.scope_all_short")
    return t("handover.title", point=where)


def _change(before: int, after: int) -> str:
    return f"{after - before:+d}" if after != before else "0"


def _lines(summary: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """Each section: its heading and its lines, in the order the report shows them."""
    by_kind = "; ".join(
        f"{DISCHARGE_KIND.label(kind)} {n}"
        for kind, n in sorted(summary["discharges_by_kind"].items())
    )
    yield (
        t("handover.arrivals", count=len(summary["arrivals"])),
        [
            f"#{a['id']} {a['name']} {a['room']} {a['at'][5:]} {CATEGORY.label(a['category'])}"
            + (f" ({t('ui.status_voided')})" if a["voided"] else "")
            for a in summary["arrivals"]
        ],
    )
    live = [d for d in summary["discharges"] if not d["voided"]]
    yield (
        t("handover.discharges", count=len(live), by_kind=by_kind or "-"),
        [
            f"#{d['stay']} {d['name']} {d['room']} {d['at'][5:]} "
            f"{DISCHARGE_KIND.label(d['kind'])} {d['destination']}".rstrip()
            + (f" [{t('handover.override', reason=d['override'])}]" if d.get("override") else "")
            + (f" ({t('ui.status_voided')})" if d["voided"] else "")
            for d in summary["discharges"]
        ],
    )
    yield (
        t(
            "handover.incidents_opened",
            count=sum(not i.get("voided") for i in summary["incidents_opened"]),
        ),
        [_incident_line(i) for i in summary["incidents_opened"]],
    )
    yield (
        t("handover.incidents_handled", count=len(summary["incidents_handled"])),
        [
            f"{_incident_line(i)} → {i['resolution']}"
            if i["resolution"] and not _reopened(i)
            else _incident_line(i)
            for i in summary["incidents_handled"]
        ],
    )
    yield (
        t("handover.fevers", count=len(summary.get("fevers", []))),
        [
            f"#{f['stay']} {f['name']} {f['room']} {f['at'][5:]} {f['temperature']:.1f} °C"
            + (f" {f['symptoms']}" if f.get("symptoms") else "")
            for f in summary.get("fevers", [])
        ],
    )
    yield (
        t("handover.positives", count=len(summary.get("positives", []))),
        [
            f"#{p['stay']} {p['name']} {p['room']} {p['at'][5:]}"
            for p in summary.get("positives", [])
        ],
    )
    yield (
        t("handover.missed_checks", count=len(summary.get("missed_checks", []))),
        [
            f"#{m['stay']} {m['name']} {m['room']} {m['day'][5:]} {ROUND.label(m['round'])} "
            f"{CHECK_STATUS.label(m['status'])}"
            for m in summary.get("missed_checks", [])
        ],
    )
    yield (
        t("handover.todo_drafts", count=len(summary.get("incidents_draft", []))),
        [_incident_line(i) for i in summary.get("incidents_draft", [])],
    )
    yield (
        t("handover.todo_incidents", count=len(summary["incidents_open"])),
        [_incident_line(i) for i in summary["incidents_open"]],
    )
    yield (
        t("handover.todo_due", count=len(summary["due_next_24h"])),
        [f"#{s['id']} {s['name']} {s['room']} {s['due']}" for s in summary["due_next_24h"]],
    )
    yield (
        t("handover.todo_overdue", count=len(summary["overdue"])),
        [f"#{s['id']} {s['name']} {s['room']} {s['due']}" for s in summary["overdue"]],
    )
    yield (
        t("handover.todo_blocked", count=len(summary["blocked_rooms"])),
        [t("ui.list_separator").join(summary["blocked_rooms"])] if summary["blocked_rooms"] else [],
    )
    if "on_duty" in summary:  # handovers signed before staff were kept have none
        yield _duty_section(summary["on_duty"]["people"], summary["point"] is None)
    supplies = summary.get("supplies", [])
    yield (
        t("handover.supplies", count=sum(1 for s in supplies if s["short"])),
        [_supply_line(s, summary["point"] is None) for s in supplies],
    )


def _duty_section(people: list[dict[str, Any]], all_points: bool) -> tuple[str, list[str]]:
    """Who is on duty since when, each one over the limit flagged."""
    over = sum(1 for person in people if person["over"])
    lines = []
    for person in people:
        where = f"{person['point']} " if all_points else ""
        line = (
            f"{where}#{person['staff']} {person['name']} {STAFF_ROLE.label(person['role'])} "
            + t("handover.duty_since", since=person["since"][5:], hours=f"{person['hours']:.1f}")
        )
        if person["over"]:
            line += " ⚠ " + t("handover.duty_over", limit=person["limit"])
        lines.append(line)
    return t("handover.on_duty", count=len(people), over=over), lines


def _supply_line(level: dict[str, Any], with_point: bool) -> str:
    """``⚠ protective suits 120 pcs, 2.0 days left (flag threshold 3 days)``: the
    threshold said as one, so that days left above it never read as below it."""
    text = t(
        "handover.supply_line",
        item=item_label(level["item"]),
        stock=level["stock"],
        unit=unit_label(level["unit"]),
        days=format_days(level["days_left"]),
        flag=t("handover.supply_threshold", threshold=f"{level['threshold']:g}"),
    )
    where = f"{level['point']} " if with_point else ""
    return f"{'⚠ ' if level['short'] else ''}{where}{text}"


def _incident_line(incident: dict[str, Any]) -> str:
    line = (
        f"#{incident['id']} [{SEVERITY.label(str(incident['severity']))}] "
        f"{INCIDENT_KIND.label(incident['kind'])} {incident['at'][5:]} {incident_summary(incident)}"
    )
    if _reopened(incident):
        # One entry, however often it was closed and reopened: its steps say so.
        steps = incident["history"]
        line += " · " + " · ".join(
            t(f"handover.step_{s['action']}", at=s["at"][5:], text=s["text"]) for s in steps
        )
    if incident.get("voided"):
        line += f" ({t('ui.status_voided')})"
    return line


def _reopened(incident: dict[str, Any]) -> bool:
    """Reopened in the window (a handover signed before this was kept has no history)."""
    return any(step["action"] == "reopen" for step in incident.get("history", []))


def _signatures(handover: dict[str, Any] | None) -> list[str]:
    if handover is None:
        return [t("handover.unsigned")]
    outgoing = signer_label(handover["outgoing"], handover["signed"])
    lines = [t("handover.signed_by", who=outgoing, at=handover["signed"]["at"])]
    if handover["acknowledged"]:
        lines.append(
            t(
                "handover.acknowledged_by",
                who=signer_label(handover["incoming"], handover["acknowledged"]),
                at=handover["acknowledged"]["at"],
            )
        )
    else:
        lines.append(t("handover.not_acknowledged"))
    for addendum in handover["addenda"]:
        lines.append(
            t(
                "handover.addendum",
                who=who_label(addendum),
                at=addendum["at"],
                text=addendum["text"],
            )
        )
    return lines


def counters_table(summary: dict[str, Any]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column(t("handover.col_counter"))
    start_at, end_at = for_terminal(summary["start"][5:]), for_terminal(summary["end"][5:])
    table.add_column(t("handover.col_start", at=start_at), justify="right")
    table.add_column(t("handover.col_end", at=end_at), justify="right")
    table.add_column(t("handover.col_change"), justify="right")
    start, end = summary["counters_start"], summary["counters_end"]
    for key in FIGURES:
        table.add_row(
            t(f"counter.{key}"), str(start[key]), str(end[key]), _change(start[key], end[key])
        )
    return table


def renderable(
    summary: dict[str, Any], notes: str, handover: dict[str, Any] | None
) -> RenderableType:
    """The whole handover as Rich renderables; every value is plain text, never markup."""

    line = _line
    parts: list[RenderableType] = [
        line(_title(summary), style="bold"),
        line(t("handover.window", start=summary["start"], end=summary["end"])),
        Text(""),
        counters_table(summary),
    ]
    for heading, lines in _lines(summary):
        parts.append(Text(""))
        parts.append(line(heading, style="bold"))
        parts.extend(line(f"  {text}") for text in lines)
    parts.append(Text(""))
    parts.extend(_notes(notes))
    parts.append(Text(""))
    parts.extend(_line(text) for text in _signatures(handover))
    return Group(*parts)


def _line(text: str, style: str = "") -> Text:
    """One line of stored text for the terminal: plain text, no control characters."""
    return Text(for_terminal(text).replace("\n", " "), style=style)


def _notes(notes: str) -> list[Text]:
    return [
        _line(t("handover.notes"), style="bold"),
        *(_line(f"  {text}") for text in (notes or "-").splitlines()),
    ]


def handed_over(handover: dict[str, Any]) -> RenderableType:
    """What the incoming supervisor acknowledges: the notes and addenda, as written."""
    signatures = _signatures(handover)
    return Group(*_notes(handover["notes"]), Text(""), *(_line(s) for s in signatures))


def markdown(summary: dict[str, Any], notes: str, handover: dict[str, Any] | None) -> str:
    md = markdown_line
    out = [
        f"**{md(_title(summary))}**",
        md(t("handover.window", start=summary["start"], end=summary["end"])),
        "",
    ]
    start, end = summary["counters_start"], summary["counters_end"]
    out.extend(
        f"- {md(t(f'counter.{key}'))}: {end[key]} ({_change(start[key], end[key])})"
        for key in FIGURES
    )
    for heading, lines in _lines(summary):
        out.append("")
        out.append(f"**{md(heading)}**")
        out.extend(f"- {md(line)}" for line in lines[:MARKDOWN_LIST_LIMIT])
        if len(lines) > MARKDOWN_LIST_LIMIT:
            out.append(f"- {md(t('handover.more', count=len(lines) - MARKDOWN_LIST_LIMIT))}")
    out.append("")
    out.append(f"**{md(t('handover.notes'))}**")
    # Each block is one paragraph: a pair of markup characters may span its lines.
    out.extend(markdown_lines((notes or "-").splitlines()))
    out.append("")
    out.extend(markdown_lines(list(_signatures(handover))))
    return "\n".join(out) + "\n"


def render(summary: dict[str, Any], notes: str, handover: dict[str, Any] | None, fmt: str) -> str:
    """The report in ``fmt`` (md, txt or html)."""
    if fmt == "md":
        return markdown(summary, notes, handover)
    console = Console(
        file=io.StringIO(), record=True, width=100, color_system=None, highlight=False
    )
    console.print(renderable(summary, notes, handover))
    if fmt == "html":
        return for_terminal(console.export_html(inline_styles=True))
    return for_terminal(console.export_text())


def export(
    folder: Path,
    summary: dict[str, Any],
    notes: str,
    handover: dict[str, Any] | None,
    fmt: str,
    stamp: str,
) -> Path:
    """Write the report as a new file in ``folder`` (readable by its owner only: it
    names people); returns its path."""
    # A point's code may hold a slash or dots; in a file name they would lead out of
    # the folder, so everything but letters, digits and dashes becomes ``_``.
    where = re.sub(r"[^\w-]+", "_", summary["point"] or "all")
    stem = f"handover-{where}-{stamp}"
    return write_new_private(folder, stem, f".{fmt}", report_bytes(summary, notes, handover, fmt))


def report_bytes(
    summary: dict[str, Any], notes: str, handover: dict[str, Any] | None, fmt: str
) -> bytes:
    """The report as a file holds it: a workbook of its lists (xlsx), or the text."""
    if fmt == "xlsx":
        from .xlsx_export import handover_workbook

        return handover_workbook(summary)
    return render(summary, notes, handover, fmt).encode("utf-8")
