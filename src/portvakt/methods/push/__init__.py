from portvakt.methods.push.method import PushMethod

__all__ = ["PushMethod"]
