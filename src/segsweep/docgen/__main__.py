"""``python -m segsweep.docgen [--check] [--docs DIR]``: regenerate docs/params.md and
docs/cli.md, or (``--check``) fail when they are stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segsweep.docgen import COMMAND, DOCS, stale, write


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=Path, default=DOCS, help=f"the docs folder (default: {DOCS})")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a page is stale")
    args = p.parse_args(argv)
    if args.check:
        names = stale(args.docs)
        for name in names:
            print(f"{args.docs / name} is stale: run `{COMMAND}`", file=sys.stderr)
        return 1 if names else 0
    for name in write(args.docs):
        print(f"wrote {args.docs / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
