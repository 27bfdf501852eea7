"""The web page: `/` serves the search page, `/static/` its CSS and JavaScript modules."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from ingest.vocab import VIETNAMESE_NAMES

STATIC = Path(__file__).resolve().parent.parent / "static"
_VOCAB_SLOT = '<script type="application/json" id="vocab">{}</script>'

router = APIRouter(tags=["page"])
router.mount("/static", StaticFiles(directory=STATIC), name="static")


@cache
def _page() -> str:
    # The page names filter values in Vietnamese with the same words the search understands.
    vocab = json.dumps(VIETNAMESE_NAMES, ensure_ascii=False).replace("</", "<\\/")
    return (STATIC / "index.html").read_text("utf-8").replace(_VOCAB_SLOT, _VOCAB_SLOT.replace("{}", vocab))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    """The search page (English or Vietnamese)."""
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})
