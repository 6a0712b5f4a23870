"""Key descriptions in the current language.

Bindings are declared with catalogue keys as descriptions (``"ui.key_save"``);
each node translates its own copy of the bindings when it is created, so the
footer and the command palette never mix languages.
"""

from __future__ import annotations

import dataclasses

from textual.dom import DOMNode

from ..i18n import t


def translate_bindings(node: DOMNode) -> None:
    for bindings in node._bindings.key_to_bindings.values():
        for index, binding in enumerate(bindings):
            if binding.description.startswith("ui."):
                bindings[index] = dataclasses.replace(
                    binding,
                    description=t(binding.description),
                    tooltip=t(binding.tooltip)
                    if binding.tooltip.startswith("ui.")
                    else binding.tooltip,
                )
