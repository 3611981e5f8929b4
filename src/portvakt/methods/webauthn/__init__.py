from portvakt.methods.webauthn.method import WebAuthnMethod

__all__ = ["WebAuthnMethod"]
