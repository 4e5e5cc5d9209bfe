#!/usr/bin/env python
"""Write schemas/*.json from curator.schema's pydantic models (or check them with --check).

Usage: python scripts/gen_schemas.py [--check] [--dir schemas]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curator.formats.schemas import drift, write  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files drifted")
    parser.add_argument("--dir", type=Path, default=ROOT / "schemas")
    args = parser.parse_args()
    if args.check:
        problems = drift(args.dir)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("run: python scripts/gen_schemas.py", file=sys.stderr)
        return 1 if problems else 0
    for path in write(args.dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
