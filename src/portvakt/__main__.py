"""``python -m portvakt``: the same as the ``portvakt`` command."""

from portvakt.cli.main import main

main()
