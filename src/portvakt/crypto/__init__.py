"""Pure cryptography: no I/O except the key file helpers in ``secretbox``."""
