"""The project's error type.

Every mistake a user can make (unknown variant, bad checkpoint, unreadable
source, missing optional dependency, ...) raises a ``VmfError`` with one clear
sentence. The command-line tools catch ``VmfError`` once and print it as a
single line on stderr with a non-zero exit, never a traceback. ``VmfError`` itself is defined in the torch-free ``vmf.contract``
(the runtime's file and camera paths need it without torch); the model's own
subclasses live here.
"""

from vmf.contract.errors import VmfError  # the one error type, defined below every package

__all__ = ["VmfError", "UnknownVariantError", "CheckpointError", "MissingDependencyError"]


class UnknownVariantError(VmfError, KeyError):
    """A variant name that is not in ``VARIANTS``."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(VmfError):
    """A weights file that is missing, unreadable, or does not fit the model."""


class MissingDependencyError(VmfError):
    """An optional package is not installed; the message names the extra."""
