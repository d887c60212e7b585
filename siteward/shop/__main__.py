"""python -m siteward.shop [--host H] [--port N] [--fault F ...] [--db PATH]"""

from __future__ import annotations

import argparse
import sys

from siteward.shop.faults import FAULT_NAMES, VALUE_HINTS, parse_fault


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m siteward.shop",
        description="Run the siteward demo shop (the default target and test fixture).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--fault", action="append", default=[], metavar="FAULT",
                        help="switch on a fault, repeatable: " + ", ".join(FAULT_NAMES)
                        + " (" + ", ".join(VALUE_HINTS.values()) + ")")
    parser.add_argument("--db", default=None, metavar="PATH",
                        help="SQLite file to use (default: a fresh seeded temp file)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for text in args.fault:
        try:
            parse_fault(text)
        except ValueError as exc:
            parser.error(str(exc))  # prints usage + message, exits 2
    from siteward.shop.server import serve

    try:
        serve(host=args.host, port=args.port, faults=args.fault, db_path=args.db)
    except OSError as exc:
        print(f"siteward shop: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
