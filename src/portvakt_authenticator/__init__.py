"""Portvakt Authenticator: codes and push sign-in approvals (docs/authenticator.md)."""

__version__ = "0.1.0"
