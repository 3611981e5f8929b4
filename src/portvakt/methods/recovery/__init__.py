from portvakt.methods.recovery.method import RecoveryMethod

__all__ = ["RecoveryMethod"]
