"""The built-in chat page: static files shipped in the package, no build step, no CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    # The page talks only to its own origin and runs only its own script.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def chat_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=_HEADERS)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The page's icon (it names it; this is for clients that ask without looking)."""
    return FileResponse(STATIC / "icon.svg", media_type="image/svg+xml", headers=_HEADERS)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = STATIC / name
    if Path(name).name != name or path.suffix not in _TYPES or not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_HEADERS)
