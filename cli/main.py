"""The `citeqa` command line: one module a command (cli/), each registering itself on the
app in cli.common. Every command honours the CITEQA_* settings."""

from __future__ import annotations

import logging
import sys

from citeqa.errors import CiteqaError

# the commands, registered on the app as they are imported
from cli import ask, calibrate, documents, evaluate, ingest, reindex, serve  # noqa: F401
from cli.common import app, print_error


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except CiteqaError as exc:
        print_error(exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
