"""The command line: the headless commands (and, later, the terminal program).

Headless commands import neither Textual nor anything that does, so they start fast.
Exit codes: 0 ok, 1 bad input or a failed check, 2 usage error.
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from .domain.display import for_terminal
from .domain.errors import FieldError, ValidationFailed
from .help_format import WideContext
from .i18n import language_from_environment, set_language, t
from .storage import engine
from .storage.actor import current_actor, set_on_duty
from .storage.backend import Location, parse_location
from .storage.errors import StoreCorrupt, StoreError, StoreMissing
from .storage.files import denied
from .storage.paths import resolve_db_path
from .storage.repository import open_store

ExitCode = int


# Options given before the command (``isolation-tui --db X stats``) count for it too.
LANG_KEY, DB_KEY = "isolation_tui.lang", "isolation_tui.db"


def _set_lang(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    if value is None:
        lang = ctx.meta.get(LANG_KEY) or language_from_environment()
    else:
        lang = ctx.meta[LANG_KEY] = value
    set_language(lang)
    return lang


def _help_language(ctx: click.Context) -> str:
    """``--lang`` when given before ``--help``, else the locale's."""
    return ctx.meta.get(LANG_KEY) or language_from_environment()


def _local(text: str | None) -> str | None:
    """Help texts are catalogue keys (``cli.help.stats``), said in the current language."""
    return t(text) if text and text.startswith("cli.") else text


@contextlib.contextmanager
def _translated(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """The command's, its options' and its subcommands' help in the user's language,
    for as long as the help is written (click reads them as plain attributes)."""
    set_language(_help_language(ctx))
    holders: list[click.Command | click.Parameter] = [command, *command.get_params(ctx)]
    if isinstance(command, click.Group):
        holders += command.commands.values()
    saved = [(holder, holder.help) for holder in holders if hasattr(holder, "help")]
    try:
        for holder, text in saved:
            holder.help = _local(text)  # type: ignore[union-attr]
        yield
    finally:
        for holder, text in saved:
            holder.help = text  # type: ignore[union-attr]


CLICK_HELP = "Show this message and exit."


class LocalCommand(click.Command):
    """A command whose ``--help`` speaks the user's language, headings included, in
    lines wrapped for Chinese too."""

    context_class = WideContext

    def get_help(self, ctx: click.Context) -> str:
        with _translated(self, ctx):
            return super().get_help(ctx)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None and option.help == CLICK_HELP:
            # Said in our words; click may make this option anew on each call, after
            # the help texts were translated, so it is translated here.
            option.help = t("cli.opt.help")
        return option

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), t("cli.usage") + " ")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        required = f"[{t('cli.required')}]"
        records = [
            (names, text.replace("[required]", required))
            for p in self.get_params(ctx)
            if (record := p.get_help_record(ctx)) is not None
            for names, text in [record]
        ]
        if records:
            with formatter.section(t("cli.options")):
                formatter.write_dl(records)


class LocalGroup(LocalCommand, click.Group):
    command_class = LocalCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Each command's own short help, whole (click cuts the long help at its first
        # full stop or at the width: "Show, or set (e.g.", "seal ...").
        rows = [
            (name, _local(command.short_help) or command.help or "")
            for name, command in sorted(self.commands.items())
            if not command.hidden
        ]
        if rows:
            with formatter.section(t("cli.commands")):
                formatter.write_dl(rows)


db_option = click.option(
    "--db",
    "db_path",
    metavar="PATH|URL",
    default=None,
    help="cli.opt.db",
)
lang_option = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    callback=_set_lang,
    expose_value=False,
    is_eager=True,
    help="cli.opt.lang",
)


def _set_on_duty(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        try:
            set_on_duty(value)
        except FieldError as exc:
            raise click.BadParameter(exc.message, ctx=ctx, param=param) from exc


as_option = click.option(
    "--as",
    "on_duty",
    metavar="NAME",
    default=None,
    callback=_set_on_duty,
    expose_value=False,
    help="cli.opt.as",
)


def echo(message: object, *, err: bool = False, nl: bool = True) -> None:
    """Print for a terminal: no control character of a name, a path or a stored
    value reaches it."""
    click.echo(for_terminal(message), err=err, nl=nl)


def _say_waiting(lock: Path, seconds: float) -> None:
    echo(t("store.lock_waiting", path=lock, seconds=f"{seconds:g}"), err=True)


def command(func: Callable[..., ExitCode | None]) -> Callable[..., None]:
    """Turn store errors into a message and exit 1; the function's return is the exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        if "db_path" in kwargs:
            given = kwargs["db_path"] or click.get_current_context().meta.get(DB_KEY)
            kwargs["db_path"] = resolve_db_path(given)
        engine.lock_wait_handler = _say_waiting
        try:
            code = func(*args, **kwargs)
        except StoreMissing:
            echo(f"isolation-tui: {t('cli.no_database', path=kwargs['db_path'])}", err=True)
            sys.exit(1)
        except StoreCorrupt as exc:
            echo(f"isolation-tui: {exc}", err=True)
            echo(t("cli.corrupt_hint", path=kwargs.get("db_path", "")), err=True)
            sys.exit(1)
        except StoreError as exc:
            echo(f"isolation-tui: {exc}", err=True)
            sys.exit(1)
        except PermissionError as exc:
            echo(f"isolation-tui: {denied(exc, Path(exc.filename or '.'))}", err=True)
            sys.exit(1)
        sys.exit(code or 0)

    return wrapper


@click.group(
    cls=LocalGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
    help="cli.help.main",
)
@click.version_option(package_name="isolation-tui", help="cli.opt.version")
@db_option
@click.option(
    "--point",
    default=None,
    help="cli.opt.point",
)
@lang_option
@as_option
@click.option(
    "--ask-name",
    is_flag=True,
    envvar="ISOLATION_TUI_ASK_NAME",
    help="cli.opt.ask_name",
)
@click.option("--read-only", is_flag=True, help="cli.opt.read_only")
@click.option("--demo", "use_demo", is_flag=True, help="cli.opt.demo")
@click.pass_context
def main(
    ctx: click.Context,
    db_path: str | None,
    point: str | None,
    ask_name: bool,
    read_only: bool,
    use_demo: bool,
) -> None:
    """Run isolation (quarantine) points: arrivals, discharges, incidents, handover.

    Without a command, opens the terminal program.
    """
    if ctx.invoked_subcommand is not None:
        ctx.meta[DB_KEY] = db_path
        return
    run_tui(db_path, point=point, read_only=read_only, use_demo=use_demo, ask_name=ask_name)


def run_tui(
    db_path: str | None, *, point: str | None, read_only: bool, use_demo: bool, ask_name: bool
) -> None:
    with contextlib.ExitStack() as stack:
        if use_demo:
            from .headless.demo import run_demo
            from .headless.demo_folder import demo_folder

            folder = stack.enter_context(demo_folder())
            db_path = folder / "demo.db"
            echo(t("cli.writing_demo"), err=True)
            with contextlib.redirect_stdout(io.StringIO()):
                run_demo(db_path, force=False, scale=1)
        path = resolve_db_path(db_path)
        try:
            store = open_store(path, read_only=read_only, create=not read_only)
        except StoreCorrupt as exc:
            echo(f"isolation-tui: {exc}", err=True)
            echo(t("cli.corrupt_hint", path=path), err=True)
            sys.exit(1)
        except StoreError as exc:
            echo(f"isolation-tui: {exc}", err=True)
            sys.exit(1)
        if point is not None and store.point(point) is None:
            # A mistyped code must not open the program at some other point.
            store.close()
            echo(f"isolation-tui: {t('report.unknown_point', point=point)}", err=True)
            sys.exit(1)
        from .app import IsolationApp

        # Asked only where nobody is named yet and the session may write.
        ask = ask_name and not current_actor().on_duty and not read_only
        IsolationApp(store, point=point, ask_name=ask).run()
        store.close()


@main.command(help="cli.help.demo", short_help="cli.short.demo")
@db_option
@lang_option
@as_option
@click.option("--force", is_flag=True, help="cli.opt.force")
@click.option(
    "--scale",
    type=click.IntRange(1, 1000),
    default=1,
    help="cli.opt.scale",
)
@command
def demo(db_path: Location, force: bool, scale: int) -> ExitCode:
    """Write the demo data: Dandong's 32 points, 1371 received, 1186 released home."""
    from .headless.demo import run_demo

    return run_demo(db_path, force=force, scale=scale)


@main.command(help="cli.help.points", short_help="cli.short.points")
@db_option
@lang_option
@click.option("--json", "as_json", is_flag=True, help="cli.opt.json_points")
@command
def points(db_path: Location, as_json: bool) -> ExitCode:
    """List the points with their beds and free beds."""
    from .headless.reports import run_points

    return run_points(db_path, as_json=as_json)


@main.command(help="cli.help.stats", short_help="cli.short.stats")
@db_option
@lang_option
@click.option("--point", "point", default=None, help="cli.opt.point_stats")
@click.option("--json", "as_json", is_flag=True, help="cli.opt.json_stats")
@command
def stats(db_path: Location, point: str | None, as_json: bool) -> ExitCode:
    """Show the live counters: received, released home, in isolation, incidents..."""
    from .headless.reports import run_stats

    return run_stats(db_path, point=point, as_json=as_json)


@main.command(name="import", help="cli.help.import", short_help="cli.short.import")
@click.argument(
    "kind",
    type=click.Choice(
        ["rooms", "arrivals", "discharges", "incidents", "tests", "supplies", "staff"]
    ),
)
@click.argument("file", type=click.Path(path_type=Path, readable=False))
@db_option
@lang_option
@as_option
@click.option("--dry-run", is_flag=True, help="cli.opt.dry_run")
@click.option("--sheet", default=None, help="cli.opt.sheet")
@command
def import_(kind: str, file: Path, db_path: Location, dry_run: bool, sheet: str | None) -> ExitCode:
    """Import rows from a CSV file or an Excel workbook: all of them, or none."""
    from .headless.imports import run_import

    return run_import(kind, file, db_path, dry_run=dry_run, sheet=sheet)


@main.command(help="cli.help.export", short_help="cli.short.export")
@click.argument(
    "kind",
    type=click.Choice(
        ["arrivals", "discharges", "incidents", "checks", "tests", "supplies", "audit", "duty"]
    ),
)
@db_option
@lang_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "xlsx"]),
    default="csv",
    help="cli.opt.format_export",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="cli.opt.out_export",
)
@click.option("--month", default="", help="cli.opt.month")
@command
def export(kind: str, db_path: Location, fmt: str, out: Path | None, month: str) -> ExitCode:
    """Export records as CSV (safe to open in a spreadsheet), JSON or an Excel workbook."""
    from .headless.csv_export import run_export

    return run_export(kind, db_path, fmt=fmt, out=out, month=month)


@main.command(help="cli.help.handover", short_help="cli.short.handover")
@db_option
@lang_option
@click.option("--point", default=None, help="cli.opt.point_handover")
@click.option(
    "--since",
    default="",
    help="cli.opt.since",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "txt", "html", "xlsx"]),
    default="md",
    help="cli.opt.format_handover",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="cli.opt.out_handover",
)
@command
def handover(
    db_path: Location, point: str | None, since: str, fmt: str, out: Path | None
) -> ExitCode:
    """Print the shift handover: the window since the last one, and what is pending."""
    from .headless.handover_report import render, report_bytes
    from .headless.reports import click_echo_err, open_for_reading

    if fmt == "xlsx" and out is None:
        click_echo_err(t("export.xlsx_needs_out"))
        return 2

    store = open_for_reading(db_path)
    if point is not None and store.point(point) is None:
        click_echo_err(t("report.unknown_point", point=point))
        return 1
    try:
        summary = store.handovers.summary(point, since)
    except FieldError as exc:
        click_echo_err(f"--since: {exc.message}")
        return 1
    if out is None:
        echo(render(summary, "", None, fmt), nl=False)
        return 0
    from .headless.csv_export import write_private

    try:
        write_private(out, report_bytes(summary, "", None, fmt))
    except OSError as exc:
        click_echo_err(t("export.cannot_write", file=out, reason=exc.strerror or exc))
        return 1
    return 0


@main.command(help="cli.help.schedule", short_help="cli.short.schedule")
@db_option
@lang_option
@as_option
@click.option("--point", "point", required=True, help="cli.opt.point_schedule")
@click.option("--category", required=True, help="cli.opt.category")
@click.option("--days", required=True, help="cli.opt.days")
@command
def schedule(db_path: Location, point: str, category: str, days: str) -> ExitCode:
    """Set a point's test days for a category (the last day of a stay is always tested)."""
    store = open_store(db_path)
    try:
        wanted = store.health.set_schedule(point, category, days)
    except FieldError as exc:
        echo(f"isolation-tui: {exc.field}: {exc.message}", err=True)
        return 1
    from .domain.codes import CATEGORY

    # Name the category as stored, in the user's language, not as it was typed.
    label = CATEGORY.label(CATEGORY.parse(category) or category)
    echo(t("cli.schedule_set", point=point, category=label, days=",".join(map(str, wanted))))
    return 0


@main.command(help="cli.help.shifts", short_help="cli.short.shifts")
@db_option
@lang_option
@as_option
@click.argument("starts", required=False, default="")
@command
def shifts(db_path: Path, starts: str) -> ExitCode:
    """Show, or set (e.g. 08:00,20:00), when shifts start: a first handover covers
    the shift in progress."""
    if not starts:
        echo(",".join(open_store(db_path, read_only=True).handovers.shifts()))
        return 0
    try:
        wanted = open_store(db_path).handovers.set_shifts(starts)
    except FieldError as exc:
        echo(f"isolation-tui: {exc.field}: {exc.message}", err=True)
        return 1
    echo(t("cli.shifts_set", starts=",".join(wanted)))
    return 0


@main.command(help="cli.help.duty", short_help="cli.short.duty")
@db_option
@lang_option
@as_option
@click.option("--point", "point", required=True, help="cli.opt.point_duty")
@click.option("--limit", default="", help="cli.opt.limit")
@click.option("--day-hours", default="", help="cli.opt.day_hours")
@click.option("--rate", "rates", multiple=True, help="cli.opt.rate")
@command
def duty(
    db_path: Location, point: str, limit: str, day_hours: str, rates: tuple[str, ...]
) -> ExitCode:
    """Show, or set, a point's duty rules: the hours on duty at a stretch that are
    flagged, the hours that make a day of duty, and the daily rate of each role."""
    from .domain.codes import STAFF_ROLE

    changing = bool(limit or day_hours or rates)
    store = open_store(db_path, read_only=not changing)
    if store.point(point) is None:
        echo(f"isolation-tui: --point: {t('report.unknown_point', point=point)}", err=True)
        return 1
    try:
        rules = store.staff.set_rules(point, limit, day_hours, rates) if changing else None
    except FieldError as exc:
        echo(f"isolation-tui: {exc.field}: {exc.message}", err=True)
        return 1
    except ValidationFailed as exc:
        for error in exc.errors:
            echo(f"isolation-tui: {error.field}: {error.message}", err=True)
        return 1
    rules = rules or store.staff.rules(point)
    echo(
        t(
            "cli.duty_rules",
            point=point,
            limit=rules.limit_hours,
            day_hours=rules.day_hours,
            rates=", ".join(
                f"{STAFF_ROLE.label(role)} {rules.rates[role]}" for role in STAFF_ROLE.codes
            ),
        )
    )
    return 0


def new_file_option(help_key: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--out FILE``: a new file the command writes (recover, backup)."""
    return click.option(
        "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help=help_key
    )


@main.command(help="cli.help.check", short_help="cli.short.check")
@db_option
@lang_option
@click.option("--all", "everything", is_flag=True, help="cli.opt.all_check")
@command
def check(db_path: Location, everything: bool) -> ExitCode:
    """Verify the stored data; exit 1 on any problem."""
    from .headless.check import run_check

    return run_check(db_path, everything=everything)


@main.command(help="cli.help.recover", short_help="cli.short.recover")
@db_option
@lang_option
@new_file_option("cli.opt.out_recover")
@command
def recover(db_path: Location, out: Path) -> ExitCode:
    """Copy a damaged database, up to its first damaged entry, into a new file."""
    if not isinstance(db_path, Path):
        echo(f"isolation-tui: {t('cli.recover_file_only', path=db_path)}", err=True)
        return 1
    from .storage.salvage import salvage

    result = salvage(db_path, out)
    echo(
        t(
            "cli.recovered",
            out=out,
            seq=result.seq,
            kept=result.kept_entries,
            lost=result.lost_lines,
            problem=result.problem or "-",
        )
    )
    return 0


@main.command(help="cli.help.backup", short_help="cli.short.backup")
@db_option
@lang_option
@new_file_option("cli.opt.out_backup")
@command
def backup(db_path: Location, out: Path) -> ExitCode:
    """Copy the database into one new file, consistent while others write."""
    from .storage.backend import backup_database

    seq, records = backup_database(db_path, out)
    echo(t("cli.backup_done", path=db_path, out=out, seq=seq, records=records))
    return 0


@main.command(help="cli.help.seal", short_help="cli.short.seal")
@db_option
@lang_option
@as_option
@click.option("--until", default=None, metavar="YYYY-MM", help="cli.opt.until_seal")
@click.option("--auto", type=click.Choice(["on", "off"]), default=None, help="cli.opt.auto_seal")
# What a session starts by itself when a month turns: quiet, and only if its turn.
@click.option("--background", is_flag=True, hidden=True)
@command
def seal(db_path: Location, until: str | None, auto: str | None, background: bool) -> ExitCode:
    """Seal finished history of past months into checksummed files."""
    from .headless.seal import run_background_seal, run_seal

    if background:
        return run_background_seal(db_path, until)
    return run_seal(db_path, until, auto)


# With --background, what a session starts when its save took the journal over the
# compaction line: the fold, in a process of its own, quietly, only if nobody folds it.
@main.command(help="cli.help.compact", short_help="cli.short.compact")
@db_option
@lang_option
@click.option("--background", is_flag=True, hidden=True)
@command
def compact(db_path: Location, background: bool) -> ExitCode:
    """Fold the journal into a new snapshot, beside the writers (by hand: now,
    after a fold under way)."""
    from .headless.compact import run_compaction

    return run_compaction(db_path, background=background)


@main.command(help="cli.help.copy", short_help="cli.short.copy")
@db_option
@lang_option
@click.option("--to", "target", required=True, metavar="PATH|URL", help="cli.opt.to_copy")
@command
def copy(db_path: Location, target: str) -> ExitCode:
    from .headless.copy_store import run_copy

    return run_copy(db_path, parse_location(target))


if __name__ == "__main__":
    main()
