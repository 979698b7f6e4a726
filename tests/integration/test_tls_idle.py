#!/usr/bin/python3
"""Integration: certificate reload on SIGHUP, and the idle timeout.

SIGHUP: new TLS connections get the certificate now in the configured files, open
connections go on; a broken pair of files is refused and the old certificate stays.
Idle: a client that completes the WebSocket upgrade and then never answers the server's
pings is closed after limits.idle_timeout_s; a client that answers them stays.
"""

import asyncio
import base64
import hashlib
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import Suite  # noqa: E402

S = Suite("tls_idle")
IDLE_S = 5


def served_fingerprint(srv):
    """SHA-256 of the certificate a new TLS connection to srv is given."""
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    with tchelper.insecure_ssl().wrap_socket(raw, server_hostname="localhost") as s:
        return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


def file_fingerprint(path):
    with open(path, "rb") as f:
        pem = f.read().decode()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return hashlib.sha256(base64.b64decode("".join(body.split()))).hexdigest()


@S.test
async def sighup_reloads_the_certificate():
    """New connections get the new certificate; a broken one is refused and the old stays."""
    srv = S.server(name="tls")
    srv.start()
    old = file_fingerprint(srv.cert)
    S.check(served_fingerprint(srv) == old, "the configured certificate is served")
    c = await srv.client()
    tchelper.make_cert(srv.cert, srv.key)
    new = file_fingerprint(srv.cert)
    srv.proc.send_signal(signal.SIGHUP)
    await asyncio.sleep(0.5)
    S.check(served_fingerprint(srv) == new and new != old,
            "after SIGHUP, a new connection gets the new certificate")
    S.check_reply(await c.request("ping"), "ping", "a connection opened before goes on")
    with open(srv.key, "w") as f:
        f.write("not a key\n")
    srv.proc.send_signal(signal.SIGHUP)
    await asyncio.sleep(0.5)
    S.check(served_fingerprint(srv) == new and srv.alive(),
            "a broken key file is refused: the certificate in use stays")
    with open(srv.log_path) as f:
        log = f.read()
    S.check("certificate reload failed" in log, "the refusal is logged")


def silent_client(srv, seconds):
    """Upgrades by hand, then reads without ever answering a ping. Returns how long the
    server kept the connection open, or None if it was still open after seconds."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           f"Sec-WebSocket-Version: 13\r\n\r\n")
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=1)
    with tchelper.insecure_ssl().wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(req.encode())
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            try:
                if not s.recv(4096):
                    return time.monotonic() - start
            except socket.timeout:
                continue
            except (OSError, ConnectionError):
                return time.monotonic() - start
    return None


@S.test
async def idle_connections_are_closed():
    """A silent client is closed after idle_timeout_s; one that answers pings stays."""
    srv = S.server(name="idle", config={"limits": {"idle_timeout_s": IDLE_S}})
    srv.start()
    live = await srv.client()  # the client library answers pings by itself
    closed_after = await asyncio.to_thread(silent_client, srv, 4 * IDLE_S)
    S.check(closed_after is not None and IDLE_S - 1 <= closed_after <= 3 * IDLE_S,
            f"a client that never answers pings is closed after about {IDLE_S} s",
            closed_after)
    await asyncio.sleep(IDLE_S + 2)  # well past two idle periods in all
    S.check_reply(await live.request("ping"), "ping",
                  "a client that answers pings (and sends nothing) is still connected")


if __name__ == "__main__":
    S.main()
