"""Query functions: take a ``Session``, return domain dataclasses; no business rules."""
