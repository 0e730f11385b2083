"""``python -m vmf.model``: params and MACs of every variant against Tables 1-2."""

from __future__ import annotations

import sys

from .summary import format_summary


def main() -> int:
    print(format_summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
