"""``--help`` read in an 80-column terminal, in Chinese and in English (real
processes): lines fit, nothing is split that must be read whole, and every command's
short help in the command list is whole.

Seen with LANG=zh_CN.UTF-8: ``(默`` / ``认:$ISOL`` / ``ATION_TUI_DB…``, ``须用 --out`` /
``)。``; ``seal ...`` with no words; in English ``shifts    Show, or set (e.g.``.
"""

from __future__ import annotations

import re

import pytest
from conftest import CliRunner
from rich.cells import cell_len

from isolation_tui.cli import main
from isolation_tui.i18n import t

COMMANDS = ["", *sorted(main.commands)]
WIDTH = 80
LANGS = {"zh": "zh_CN.UTF-8", "en": "en_US.UTF-8"}
# Never at the start of a line (closing), never at the end of one (opening).
CLOSING = "，。、；：？！）」』】》,.;:?!)]"
OPENING = "（「『【《(["


def help_of(cli: CliRunner, lang: str, command: str) -> str:
    result = cli(
        *([command] if command else []), "--help", env={"LANG": LANGS[lang], "COLUMNS": str(WIDTH)}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def words_to_keep_whole(text: str) -> list[str]:
    """Option names, environment variables, paths, times: runs of ASCII without spaces."""
    return [word.strip(CLOSING + OPENING) for word in re.findall(r"[!-~]{3,}", text)]


@pytest.mark.parametrize("lang", sorted(LANGS))
@pytest.mark.parametrize("command", COMMANDS)
def test_help_wraps_where_a_reader_would(cli: CliRunner, lang: str, command: str) -> None:
    out = help_of(cli, lang, command)
    lines = out.splitlines()
    for line in lines:
        assert cell_len(line) <= WIDTH, line
        text = line.strip()
        if text:
            assert text[0] not in CLOSING, line
            assert text[-1] not in OPENING, line
    cmd = main.commands[command] if command else main
    texts = [t(cmd.help or "", lang=lang)]
    texts += [t(p.help, lang=lang) for p in cmd.params if getattr(p, "help", None)]
    for text in texts:
        for word in words_to_keep_whole(text):
            assert word in out, (word, out)


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_every_commands_short_help_is_whole(cli: CliRunner, lang: str) -> None:
    out = help_of(cli, lang, "")
    heading = re.search(rf"^{re.escape(t('cli.commands', lang=lang))}", out, re.MULTILINE)
    assert heading is not None
    listed = out[heading.start() :]
    assert "..." not in listed and "…" not in listed
    for name, command in main.commands.items():
        assert command.short_help, name
        short = t(command.short_help, lang=lang)
        assert short != command.short_help, name  # in the catalogue
        flat_listed = re.sub(r"\s+", "", listed)
        assert re.sub(r"\s+", "", f"{name}{short}") in flat_listed, (name, listed)
