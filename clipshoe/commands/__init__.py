"""`clipshoe` subcommands, one module per area; `clipshoe/cli.py` mounts them."""

from __future__ import annotations

import logging


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "sentence_transformers", "urllib3", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
