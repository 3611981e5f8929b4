"""A sign-in method that lives outside Portvakt, installed through the ``portvakt.methods``
entry point (docs/extend.md): codes of eight letters, derived from a secret and the time.
The suite proves with it that a new kind needs its own folder and nothing else."""

from portvakt_testmethod.method import LetterCodeMethod

__all__ = ["LetterCodeMethod"]
