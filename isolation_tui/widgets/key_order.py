"""Every key is handled completely before the next one: keys read together (a fast
typist, a paste of keystrokes, a weak SSH link delivering several keys in one packet)
act in the order they were typed.

Textual (8.2.8) handles a printable character in the focused field as soon as the
field takes it, but a bound key (backspace, an arrow, tab, a screen's or the app's
binding) travels up from the focused widget to the app one message queue at a time,
and its binding runs only when it reaches the app. Meanwhile the app has already
sent the next key down: ``abc`` then backspace and ``x`` gives ``abc`` (the x typed,
then removed), ``Down v`` on a list voids the row the cursor was on before Down.
https://github.com/Textualize/textual/issues/6605 (the fix proposed upstream,
https://github.com/Textualize/textual/pull/6631, covers only a field's own keys).

Here the app takes the next key from its queue only when the one before has been
through every widget on its way and, if none stopped it, through the bindings.
"""

from __future__ import annotations

import asyncio

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.message import Message

# A widget removed while a key waits in its queue never takes it: after this long the
# next key goes ahead rather than never (as it would have without this module).
STUCK_SECONDS = 2.0


class KeysInOrder(App[None]):
    """Mixed into the app: see the module's text."""

    _key_on_its_way: events.Key | None = None
    _key_back: events.Key | None = None

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
            return
        first = self.focused or self.screen
        self._key_on_its_way = event
        self._key_back = None
        try:
            # Priority bindings (F-keys, ctrl+q) run here; any other key is sent to
            # the focused widget (or the screen) and comes back up.
            await super().on_event(event)
            if event.is_forwarded:
                await self._through_to_screen(self.focused or self.screen, event)
        finally:
            self._key_on_its_way = None
        if self._key_back is event:
            # Nobody below stopped it: the bindings (the focused widget's, its
            # ancestors', the screen's, the app's), now, before the next key.
            await super().on_event(event)
        # What the key set off on its way (a list's row highlighted, a field changed)
        # is handled too: the screen follows it (the movements of the item moved to)
        # before the next key acts on what the screen shows.
        await self._through_to_screen(first)

    def post_message(self, message: Message) -> bool:
        """The key on its way coming back up to the app is taken by :meth:`on_event`
        (which waits for it), not queued behind the keys typed after it."""
        if message is self._key_on_its_way:
            self._key_back = self._key_on_its_way
            return True
        return super().post_message(message)

    async def _through_to_screen(self, node: DOMNode | None, key: events.Key | None = None) -> None:
        """Wait until each widget from ``node`` up to the screen has handled what it
        was sent so far (each passes a message up to its parent's queue as it
        finishes with it); with ``key``: stop when that key comes back to the app."""
        while node is not None and node is not self:
            done = asyncio.Event()
            if not node.call_later(done.set):
                return  # closing: it takes no more messages, nor passes any up
            try:
                await asyncio.wait_for(done.wait(), STUCK_SECONDS)
            except TimeoutError:
                return
            if key is not None and self._key_back is key:
                return
            node = node.parent
