"""Write (or check) docs/model-card.schema.json from the one card definition, CARD_KEYS.

python scripts/model_card_schema.py           # rewrite the file
python scripts/model_card_schema.py --check   # exit 1 if it differs (the tests do this too)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vmf.contract.card import json_schema
from vmf.model.files import write_text

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "model-card.schema.json"


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare, do not write")
    args = p.parse_args(argv)
    if args.check:
        current = SCHEMA_FILE.read_text() if SCHEMA_FILE.is_file() else ""
        if current != schema_text():
            print(
                f"error: {SCHEMA_FILE} is out of date: run python scripts/model_card_schema.py",
                file=sys.stderr,
            )
            return 1
        print(f"{SCHEMA_FILE.name} matches CARD_KEYS")
        return 0
    write_text(SCHEMA_FILE, schema_text())
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
