"""A minimal fake SMTP server (RFC 5321 subset) for Django's SMTP backend.

Recipients starting ``unknown`` are refused with 550 (permanent), ``busy`` with 451
(transient); a login with any password but ``SMTP_PASSWORD`` gets 535.
"""

from __future__ import annotations

import base64
import socketserver
import threading
from dataclasses import dataclass, field

SMTP_USER = "hub"
SMTP_PASSWORD = "smtp-secret"


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: str


@dataclass
class SmtpState:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SmtpHandler(socketserver.StreamRequestHandler):
    server: FakeSmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 fake-smtp ready")
        mail_from, rcpts = "", list[str]()
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-fake-smtp\r\n250 AUTH PLAIN LOGIN\r\n")
            elif verb == "AUTH":
                parts = line.split(" ")
                decoded = base64.b64decode(parts[2]).split(b"\0") if len(parts) > 2 else []
                ok = (
                    len(decoded) == 3
                    and decoded[1].decode() == SMTP_USER
                    and decoded[2].decode() == SMTP_PASSWORD
                )
                self.reply("235 ok" if ok else "535 5.7.8 authentication failed")
            elif verb == "MAIL":
                mail_from, rcpts = line.split(":", 1)[1].strip(" <>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                address = line.split(":", 1)[1].strip(" <>")
                if address.startswith("unknown"):
                    self.reply("550 5.1.1 no such user")
                elif address.startswith("busy"):
                    self.reply("451 4.3.0 try again later")
                else:
                    rcpts.append(address)
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (chunk := self.rfile.readline().decode()) not in (".\r\n", ""):
                    lines.append(chunk)
                with self.server.state.lock:
                    self.server.state.messages.append(Received(mail_from, rcpts, "".join(lines)))
                self.reply("250 queued")
            elif verb == "RSET":
                mail_from, rcpts = "", []
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class FakeSmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.state = SmtpState()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
