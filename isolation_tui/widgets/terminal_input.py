"""Keys from a terminal that does not send UTF-8 are keys, not a crash.

Textual's Linux driver decodes what the terminal sends as strict UTF-8 in its input
thread: one byte that is not UTF-8 (Chinese typed on an SSH client left at GBK, a
stray 8-bit byte) raises there, prints a traceback over the screen and leaves a
program that no longer answers any key, ctrl+q included. Decoding with replacement
instead shows such a character as U+FFFD, and the supervisor can go on (and see
that the client's encoding needs setting to UTF-8).
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable

from textual.drivers import linux_driver


def _replacing_decoder(encoding: str) -> Callable[..., codecs.IncrementalDecoder]:
    return functools.partial(codecs.getincrementaldecoder(encoding), errors="replace")


def tolerate_undecodable_input() -> None:
    """Make the driver's input thread replace bytes it cannot decode (the driver
    looks up ``getincrementaldecoder`` in its module each time it starts)."""
    linux_driver.getincrementaldecoder = _replacing_decoder  # type: ignore[assignment]
