"""The browser door: HTML pages (and, later, JSON APIs) over the core."""
