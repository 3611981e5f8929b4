from portvakt.methods.sms.method import SmsMethod

__all__ = ["SmsMethod"]
