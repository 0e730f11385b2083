"""The project's error type.

Every mistake a user can make (unknown variant, bad checkpoint, unreadable
source, missing optional dependency, ...) raises a ``VmfError`` with one clear
sentence. The command-line tools catch ``VmfError`` once and print it as a
single line on stderr with a non-zero exit, never a traceback. It lives in the
contract package because that package sits below all the others and imports
nothing of theirs; ``vmf.model`` re-exports it.
"""


class VmfError(Exception):
    """A user-facing error: ``str(err)`` is the one line the CLI prints."""
