"""``python -m portvakt_authenticator``."""

from portvakt_authenticator.cli import main

main()
