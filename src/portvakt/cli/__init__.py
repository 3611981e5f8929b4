"""The ``portvakt`` command line (Typer): one module per noun, each command a thin call into
``portvakt.core`` with an audited operator context (door ``cli``)."""
