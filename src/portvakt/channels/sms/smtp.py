"""Email-to-SMS: many operators turn an email to ``<number>@<their domain>`` into a text
message. One SMTP session per message, STARTTLS by default, within the configured timeout."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from string import Template

from portvakt.channels.sms.base import GatewayError, Message
from portvakt.settings import SmsSmtpSettings


class SmtpGateway:
    name = "smtp"

    def __init__(self, conf: SmsSmtpSettings, *, timeout: float) -> None:
        self.conf = conf
        self.timeout = timeout

    def email(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.conf.sender
        mail["To"] = Template(self.conf.recipient).substitute(number=message.to.lstrip("+"))
        mail["Subject"] = ""
        mail.set_content(message.text)
        return mail

    def send(self, message: Message) -> None:
        conf = self.conf
        try:
            with smtplib.SMTP(conf.host, conf.port, timeout=self.timeout) as client:
                if conf.starttls:
                    client.starttls(context=ssl.create_default_context())
                if conf.username and conf.password is not None:
                    client.login(conf.username, conf.password.get_secret_value())
                client.send_message(self.email(message))
        except smtplib.SMTPRecipientsRefused as exc:  # the operator knows no such number
            codes = [code for code, _text in exc.recipients.values()]
            permanent = all(_permanent(code) for code in codes)
            raise GatewayError(f"SMTP {codes[0]} for the recipient", retry=not permanent) from exc
        except smtplib.SMTPResponseException as exc:
            raise GatewayError(
                f"SMTP {exc.smtp_code}", retry=not _permanent(exc.smtp_code)
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise GatewayError(f"{type(exc).__name__}: {exc}") from exc


PERMANENT = range(500, 600)  # 5xx in SMTP: a permanent refusal (RFC 5321 §4.2.1)


def _permanent(code: int) -> bool:
    return code in PERMANENT
