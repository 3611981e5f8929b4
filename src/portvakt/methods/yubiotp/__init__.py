from portvakt.methods.yubiotp.method import YubicoOtpMethod

__all__ = ["YubicoOtpMethod"]
