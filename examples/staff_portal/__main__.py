"""``python -m examples.staff_portal`` (from the repository root): serve the portal."""

from __future__ import annotations

import sys

import uvicorn

from .app import create_app
from .config import ConfigError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"staff portal: {exc}", file=sys.stderr)
        return 2
    print(f"Staff portal on {settings.url} (signing in through {settings.issuer})", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
