from portvakt.methods.oath.method import OathMethod

__all__ = ["OathMethod"]
