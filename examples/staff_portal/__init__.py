"""The Staff portal: a small OpenID Connect relying party for Portvakt (see README.md)."""
