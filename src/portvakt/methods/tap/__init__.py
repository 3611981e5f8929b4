from portvakt.methods.tap.method import TapMethod

__all__ = ["TapMethod"]
