"""A callback POST goes to the address that was checked, keeps the URL's name for Host and TLS,
and ends at its wall-clock deadline however slowly the peer answers."""

from __future__ import annotations

import datetime
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone

from bench.fakes.callbacks import start_fake_receiver
from bench.fakes.server import FakeServer
from hub.apikeys.services import apikey_create
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.callbacks.services import callbacks_deliver


class Resolver:
    """Stands in for DNS: answers names in ``answers`` (one list per lookup, the last one
    repeated), and counts the lookups of each."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: dict[str, int] = dict.fromkeys(answers, 0)
        self.real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        index = min(self.lookups[host], len(self.answers[host]) - 1)
        self.lookups[host] += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.answers[host][index], port))]


def delivery_to(url: str) -> CallbackDelivery:
    """A pending delivery to ``url`` (created directly: registration would resolve the name)."""
    endpoint = CallbackEndpoint.objects.create(api_key=apikey_create(name="svc").api_key, url=url)
    return CallbackDelivery.objects.create(
        endpoint=endpoint, events={"events": [{"type": "message.status"}]}, next_attempt_at=timezone.now()
    )


@pytest.fixture
def receiver() -> Iterator[FakeServer]:
    server = start_fake_receiver()
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_the_post_goes_to_the_address_that_was_checked(monkeypatch, receiver):
    """DNS rebinding: the name answers a permitted address to the check and another to any
    later lookup. The hub resolves once and connects to the address it checked."""
    port = receiver.server_address[1]
    # 127.0.0.2 stands for the inside address an attacker rebinds to (nothing listens there).
    resolver = Resolver({"hooks.rebind.test": ["127.0.0.1", "127.0.0.2"]})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    delivery = delivery_to(f"http://hooks.rebind.test:{port}/h?k=1")

    assert callbacks_deliver(delivery_ids=[delivery.id]) == 1

    assert resolver.lookups["hooks.rebind.test"] == 1
    (call,) = receiver.calls
    assert call.path == "/h?k=1"
    assert call.headers["host"] == f"hooks.rebind.test:{port}"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


class Trickler:
    """A real socket server that answers one byte at a time, ``interval`` apart, for
    ``seconds`` in all (what held a worker 75 s)."""

    def __init__(self, *, interval: float, seconds: float) -> None:
        self.interval, self.seconds = interval, seconds
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        peer, _ = self.listener.accept()
        with peer:
            peer.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"." * 200 + b"\r\nContent-Length: 0\r\n\r\n"
            ends = time.monotonic() + self.seconds
            for byte in answer:
                if time.monotonic() > ends:
                    break
                try:
                    peer.sendall(bytes([byte]))
                except OSError:
                    return  # the client hung up: what the deadline should do
                time.sleep(self.interval)

    def close(self) -> None:
        self.listener.close()


@pytest.mark.django_db(transaction=True)
def test_a_trickling_peer_is_cut_off_at_the_deadline(settings):
    settings.HUB_CALLBACK_TIMEOUT_SECONDS = 1.0
    trickler = Trickler(interval=0.2, seconds=12)  # each byte well within any socket timeout
    try:
        delivery = delivery_to(f"http://127.0.0.1:{trickler.port}/h")
        started = time.monotonic()
        assert callbacks_deliver(delivery_ids=[delivery.id]) == 0
        elapsed = time.monotonic() - started
    finally:
        trickler.close()
    assert elapsed < 3, f"the POST took {elapsed:.1f} s, past its 1 s deadline"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert "deadline" in delivery.last_error


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.hosts.append(self.headers["Host"])  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[http.server.HTTPServer, list[str], str]]:
    """An HTTPS server on 127.0.0.1 with a certificate for ``hooks.tls.test`` only; records
    the server names (SNI) its clients asked for."""
    cert, key = _certificate(tmp_path, "hooks.tls.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.hosts = []  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, names, cert
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_tls_names_and_verifies_the_urls_host_at_the_pinned_address(monkeypatch, tls_server):
    server, names, cert = tls_server
    port = server.server_address[1]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    monkeypatch.setattr(
        socket, "getaddrinfo", Resolver({"hooks.tls.test": ["127.0.0.1"], "other.tls.test": ["127.0.0.1"]})
    )
    good = delivery_to(f"https://hooks.tls.test:{port}/h")
    assert callbacks_deliver(delivery_ids=[good.id]) == 1
    assert names == ["hooks.tls.test"]
    assert server.hosts == [f"hooks.tls.test:{port}"]

    # Same address, but the certificate is not valid for this name: refused, nothing posted.
    CallbackEndpoint.objects.all().delete()
    wrong = delivery_to(f"https://other.tls.test:{port}/h")
    assert callbacks_deliver(delivery_ids=[wrong.id]) == 0
    wrong.refresh_from_db()
    assert wrong.status == DeliveryStatus.PENDING and wrong.last_error
    assert server.hosts == [f"hooks.tls.test:{port}"]
