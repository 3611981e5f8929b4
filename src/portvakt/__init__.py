"""Portvakt: a self-hostable two-factor authentication service."""

__version__ = "0.1.0"
