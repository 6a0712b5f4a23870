"""`--help` of every command speaks the user's language (real processes)."""

from __future__ import annotations

import re

import pytest
from conftest import CliRunner

from isolation_tui.cli import main
from isolation_tui.i18n import t

COMMANDS = ["", *sorted(main.commands)]


def flat(text: str) -> str:
    """Without the spaces and line breaks click adds where it wraps."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("env", "how"), [({"LANG": "zh_CN.UTF-8"}, []), ({}, ["--lang", "zh"])], ids=["LANG", "--lang"]
)
def test_help_is_chinese(cli: CliRunner, command: str, env: dict[str, str], how: list[str]) -> None:
    args = [*how, command, "--help"] if command else [*how, "--help"]
    result = cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    out = flat(result.stdout)
    cmd = main.commands[command] if command else main
    assert cmd.help is not None and flat(t(cmd.help, lang="zh")) in out
    for param in cmd.params:
        help_key = getattr(param, "help", None)
        if help_key:
            assert flat(t(help_key, lang="zh")) in out, param.name
    for english in ("Usage:", "Options:", "Commands:", "Show this", "[default", "[required"):
        assert english not in result.stdout
    assert "用法" in result.stdout and "选项" in result.stdout


def test_help_is_english_in_english(cli: CliRunner) -> None:
    result = cli("stats", "--help", env={"LANG": "en_US.UTF-8"})
    assert "Usage:" in result.stdout and "Show the live counters" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "env", [{"LANG": "en_US.UTF-8"}, {"LANG": "zh_CN.UTF-8"}], ids=["en", "zh"]
)
def test_help_shows_no_catalogue_key(cli: CliRunner, command: str, env: dict[str, str]) -> None:
    """The first --help of a process (click makes its help option then) included."""
    result = cli(*([command] if command else []), "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"\bcli\.[a-z_]+\.", result.stdout), result.stdout
