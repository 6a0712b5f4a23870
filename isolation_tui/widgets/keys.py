"""Key descriptions in the current language.

Bindings are declared with catalogue keys as descriptions (``"ui.key_save"``);
each node translates its own copy of the bindings when it is created, so the
footer and the command palette never mix languages.
"""

from __future__ import annotations

import dataclasses

from textual.binding import Binding
from textual.dom import DOMNode

from ..i18n import t

# Keys of Textual's own widgets that a footer shows, named in English by Textual.
TEXTUAL_KEYS = {"Dismiss menu": "ui.key_dismiss_menu"}


def _translated(binding: Binding) -> Binding:
    key = TEXTUAL_KEYS.get(binding.description, binding.description)
    if not key.startswith("ui."):
        return binding
    return dataclasses.replace(binding, description=t(key))


def translate_bindings(node: DOMNode) -> None:
    # The node's map is a shallow copy of its class's: the lists are shared, so they
    # are replaced, never changed in place (that would translate every later node).
    key_to_bindings = node._bindings.key_to_bindings
    for key, bindings in key_to_bindings.items():
        key_to_bindings[key] = [_translated(binding) for binding in bindings]
