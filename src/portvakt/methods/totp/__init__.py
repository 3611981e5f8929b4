from portvakt.methods.totp.method import TotpMethod

__all__ = ["TotpMethod"]
