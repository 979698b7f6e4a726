#!/usr/bin/python3
"""tchelper: the harness of telecounter's integration tests.

It runs the real `telecounter` binary on loopback and drives it with scripted
WebSocket clients (python3-websockets, asyncio API of 10.x):

- Server: a temp dir with a throwaway self-signed ECDSA certificate, a config
  file (free port on 127.0.0.1, short timers), accounts made with
  `telecounter-admin`, the process started and stopped by its own PID.
- Client: one WSS connection; request() sends with a fresh id and waits for the
  reply with that id, while events are buffered for expect_event().
- Suite: checks are plain async functions run in order; check() records a pass
  or a failure and keeps going; the totals line is `N passed, N failed`.

Environment (set by CTest): TC_BINARY, TC_ADMIN, TC_SOURCE_DIR, TC_BUILD_DIR.
Traffic goes only to 127.0.0.0/8.
"""

import os
import sys

try:
    import websockets  # noqa: F401
except ImportError:  # the pyenv python on PATH lacks it; Debian's has it
    if os.path.exists("/usr/bin/python3") and \
            os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

import asyncio
import base64
import csv
import io
import itertools
import json
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import websockets.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("TC_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
BUILD_DIR = os.environ.get("TC_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
BINARY = os.environ.get("TC_BINARY", os.path.join(BUILD_DIR, "telecounter"))
ADMIN = os.environ.get("TC_ADMIN", os.path.join(BUILD_DIR, "telecounter-admin"))

INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PASSWORD = "correct horse battery staple"

# A plausible WebRTC offer, for routing checks (the server passes it on).
FAKE_SDP = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 "
    "12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:1001 cname:test\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 "
    "12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=sendrecv\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=ssrc:2002 cname:test\r\n"
)
FAKE_CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------- #
# Checks and totals
# --------------------------------------------------------------------------- #

class Suite:
    """Runs async check functions in order; records every check; prints totals."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.tests = []
        self.servers = []  # every Server made, for log tails and clean-up

    def test(self, fn):
        """Decorator: registers fn (async, no arguments) as the next test."""
        self.tests.append(fn)
        return fn

    def check(self, cond, what, detail=None):
        """Records one check; prints PASS/FAIL and the detail on failure; returns cond."""
        if cond:
            self.passed += 1
            log(f"PASS: {what}")
        else:
            self.failed += 1
            extra = f" -- {detail}" if detail is not None else ""
            log(f"FAIL: {what}{extra}")
        return bool(cond)

    def check_reply(self, reply, type_, what):
        """Checks that reply is `<type_>.ok`; prints the reply otherwise."""
        return self.check(reply is not None and reply.get("type") == type_ + ".ok", what,
                          f"got {short(reply)}")

    def check_error(self, reply, codes, what):
        """Checks that reply is an error whose code is in codes (a str or a set)."""
        if isinstance(codes, str):
            codes = {codes}
        ok = reply is not None and reply.get("type") == "error" and reply.get("code") in codes
        return self.check(ok, what, f"expected error {sorted(codes)}, got {short(reply)}")

    def server(self, **kw):
        srv = Server(**kw)
        self.servers.append(srv)
        return srv

    def main(self):
        """Runs every registered test, then prints totals; exits 0 only if all passed."""
        log(f"== {self.name} ({BINARY})")
        try:
            asyncio.run(self._run_all())
        finally:
            for srv in self.servers:
                if self.failed:
                    srv.print_log_tail()
                srv.cleanup()
        log(f"{self.passed} passed, {self.failed} failed")
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)

    async def _run_all(self):
        await self._run_tests()
        for srv in self.servers:
            if srv.proc is not None:
                code = srv.proc.poll()
                self.check(code is None, f"server {srv.name} is still running at the end",
                           f"exit code {code}" + (f" (signal {-code})" if code and code < 0
                                                  else ""))

    async def _run_tests(self):
        for fn in self.tests:
            log(f"-- {fn.__name__}: {(fn.__doc__ or '').strip().splitlines()[0] if fn.__doc__ else ''}")
            try:
                await fn()
            except Exception as e:  # a test that blew up is one failure; go on
                self.failed += 1
                log(f"FAIL: {fn.__name__} raised {type(e).__name__}: {e}")
                traceback.print_exc(file=sys.stdout)
                if fn.__name__ == "setup":
                    log("setup failed: the remaining tests are not run")
                    break
            finally:
                await Client.close_all()


def short(obj, limit=300):
    s = json.dumps(obj) if not isinstance(obj, str) else obj
    return s if len(s) <= limit else s[:limit] + "..."


# --------------------------------------------------------------------------- #
# The server under test
# --------------------------------------------------------------------------- #

def free_port():
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SSL_CTX = None


def ws_frame(text):
    """A masked client text frame (RFC 6455 5.3), for tests that speak WebSocket by hand."""
    payload, mask = text.encode(), os.urandom(4)
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def hand_read_texts(sock, want, timeout):
    """Reads server text frames from a hand-upgraded socket until `want` have come or it
    closes; returns their texts (server frames are unmasked; 16-bit lengths at most)."""
    sock.settimeout(timeout)
    buf, texts = b"", []
    while len(texts) < want:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2:
            n, off = buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, off = int.from_bytes(buf[2:4], "big"), 4
            if len(buf) < off + n:
                break
            if buf[0] & 0x0F == 1:
                texts.append(buf[off:off + n].decode())
            buf = buf[off + n:]
    return texts


def upgrade_request(port, origin=None):
    """The bytes of a WebSocket upgrade request for /ws (Origin only when given)."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n"
            + (f"Origin: {origin}\r\n" if origin else "") + "\r\n").encode()


def hand_upgrade(sock, port, origin=None):
    """Sends a WebSocket upgrade for /ws on an open TLS socket and reads the response head
    (a byte at a time: what follows it is the server's first frames). Returns the status
    code, or None when the answer has none."""
    sock.sendall(upgrade_request(port, origin))
    head = b""
    while b"\r\n\r\n" not in head:
        byte = sock.recv(1)
        if not byte:
            break
        head += byte
    parts = head.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def insecure_ssl():
    """A TLS client context that accepts the throwaway self-signed certificate. Made once:
    building a default context loads the system CA store, which costs ~50 ms."""
    global _SSL_CTX
    if _SSL_CTX is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _SSL_CTX = ctx
    return _SSL_CTX


DEFAULT_CONFIG = {
    "log": {"level": "info"},
    "ops": {"timezone": "UTC"},  # test_stats checks "today" against UTC midnight
    "routing": {"ring_timeout_s": 3, "after_call_work_s": 2, "resume_window_s": 3},
    # Tests start many sessions from 127.0.0.1; test_abuse sets these limits itself.
    "limits": {"messages_per_s": 1000, "message_burst": 1000, "sessions_per_address": 100000,
               "joins_per_minute": 100000},
    # ICE only on 127.0.0.1; the fake offers of these tests never connect, so a failed
    # leg must not end their sessions (reason failed) while a test runs.
    "media": {"workers": 1, "loopback": "true", "grace_s": 600},
}


class Server:
    """One telecounter process in its own temp dir, on a free loopback port."""

    def __init__(self, config=None, name="tc"):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix=f"tc-int-{name}-")
        self.port = free_port()
        self.db = os.path.join(self.tmp, "telecounter.db")
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        self.config_path = os.path.join(self.tmp, "telecounter.conf")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.proc = None
        self.exit_code = None
        self.public_url = f"https://localhost:{self.port}"
        self.origin = self.public_url
        self.ws_url = f"wss://127.0.0.1:{self.port}/ws"
        self.http_base = f"https://127.0.0.1:{self.port}"
        self.config = self._merged(config or {})
        make_cert(self.cert, self.key)
        self.write_config()

    def _merged(self, overrides):
        cfg = {
            "server": {
                "address": "127.0.0.1",
                "port": self.port,
                "public_url": self.public_url,
                "allowed_origins": f"https://127.0.0.1:{self.port},https://localhost:{self.port}",
                "tls_cert": self.cert,
                "tls_key": self.key,
                "web_root": os.path.join(SOURCE_DIR, "web"),
            },
            "store": {"path": self.db},
        }
        for src in (DEFAULT_CONFIG, overrides):
            for group, keys in src.items():
                cfg.setdefault(group, {}).update(keys)
        return cfg

    def write_config(self, path=None):
        """Writes the config (GKeyFile syntax) to path (default: the server's own)."""
        with open(path or self.config_path, "w") as f:
            f.write(render_config(self.config))

    # -- accounts -------------------------------------------------------- #

    def admin(self, *args, stdin=None, timeout=60):
        """Runs telecounter-admin --config CONF --db DB ARGS (the config names the desks
        that skills are checked against); returns the CompletedProcess."""
        return subprocess.run([ADMIN, "--config", self.config_path, "--db", self.db, *args], input=stdin, text=True,
                              capture_output=True, timeout=timeout)

    def add_account(self, name, role="agent", skills=("id_check", "broadband", "urgent_sim"),
                    password=PASSWORD):
        """Creates an account; raises with the admin tool's output if it fails."""
        args = ["add-account", name, "--role", role]
        if skills:
            args += ["--skills", ",".join(skills)]
        args.append("--password-stdin")
        r = self.admin(*args, stdin=password + "\n")
        if r.returncode != 0:
            raise RuntimeError(f"add-account {name} failed ({r.returncode}): {r.stderr.strip()}")

    def export_csv(self):
        """The sessions as rows (dicts) from `telecounter-admin export-csv`."""
        r = self.admin("export-csv")
        if r.returncode != 0:
            raise RuntimeError(f"export-csv failed ({r.returncode}): {r.stderr.strip()}")
        return list(csv.DictReader(io.StringIO(r.stdout)))

    # -- process --------------------------------------------------------- #

    def start(self, wait=True):
        """Starts the server (stderr and stdout to server.log); waits for /readyz."""
        logf = open(self.log_path, "a")
        logf.write(f"---- start {time.strftime('%H:%M:%S')}\n")
        logf.flush()
        self.proc = subprocess.Popen([BINARY, "--config", self.config_path], stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        self.exit_code = None
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} before ready")
            try:
                status, _ = self.http_get("/readyz", timeout=1.0)
                if status == 200:
                    return
                last = status
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError(f"server not ready within {timeout} s (last: {last})")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM to our own PID, then wait; SIGKILL (same PID) if it hangs.
        Returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = None
                self.proc = None
                return None
        self.exit_code = self.proc.returncode
        self.proc = None
        return self.exit_code

    async def astop(self, timeout=10.0):
        """stop() in a thread, so that clients keep reading while the server shuts down."""
        return await asyncio.to_thread(self.stop, timeout)

    def print_log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError:
            return
        log(f"---- server log tail ({self.log_path}):")
        for line in tail:
            log("   | " + line.rstrip())

    def cleanup(self):
        self.stop()
        if os.environ.get("TC_KEEP_TMP"):
            log(f"(kept {self.tmp})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- HTTP ------------------------------------------------------------ #

    def http_get(self, path, token=None, timeout=5.0):
        """GET https://127.0.0.1:PORT/path; returns (status, body text)."""
        req = urllib.request.Request(self.http_base + path)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=insecure_ssl()) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def raw_upgrade(self, origin=None, source=None, timeout=5.0):
        """Sends a WebSocket upgrade request by hand (TLS, HTTP/1.1) and returns the status
        code of the answer; the connection is then closed. Independent of the client
        library, which refuses some valid refusals (e.g. an HTTP/1.0 status line)."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout,
                                       source_address=(source, 0) if source else None)
        with insecure_ssl().wrap_socket(raw, server_hostname="localhost") as s:
            return hand_upgrade(s, self.port, origin or self.origin)

    async def araw_upgrade(self, origin=None, source=None):
        return await asyncio.to_thread(self.raw_upgrade, origin, source)

    async def ahttp_get(self, path, token=None, timeout=5.0):
        return await asyncio.to_thread(self.http_get, path, token, timeout)

    def http_post(self, path, body, content_type, token=None, timeout=10.0):
        """POST https://127.0.0.1:PORT/path; returns (status, body text)."""
        req = urllib.request.Request(self.http_base + path, data=body, method="POST")
        req.add_header("Content-Type", content_type)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=insecure_ssl()) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    async def ahttp_post(self, path, body, content_type, token=None, timeout=10.0):
        return await asyncio.to_thread(self.http_post, path, body, content_type, token, timeout)

    # -- clients --------------------------------------------------------- #

    async def client(self, **kw):
        return await Client.connect(self, **kw)

    async def login(self, username, password=PASSWORD, **kw):
        """A connected client logged in as username; raises unless login.ok."""
        c = await self.client(**kw)
        r = await c.request("login", username=username, password=password)
        if r.get("type") != "login.ok":
            raise RuntimeError(f"login {username}: {short(r)}")
        c.login_reply = r
        c.username = username
        return c

    async def agent(self, username, available=False, **kw):
        """A logged-in agent; optionally made available."""
        c = await self.login(username, **kw)
        if available:
            r = await c.request("agent.state", state="available")
            if r.get("type") != "agent.state.ok":
                raise RuntimeError(f"agent.state available for {username}: {short(r)}")
        return c

    async def customer(self, desk="broadband", **kw):
        """A customer who joined desk; c.joined is the join reply."""
        c = await self.client(**kw)
        r = await c.request("customer.join", desk=desk)
        if r.get("type") != "customer.join.ok":
            raise RuntimeError(f"customer.join {desk}: {short(r)}")
        c.joined = r
        c.session_id = r["session_id"]
        c.token = r["token"]
        return c


def make_cert(cert, key):
    """A throwaway self-signed P-256 certificate for localhost and 127.0.0.1."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)


def render_config(cfg):
    out = []
    for group, keys in cfg.items():
        out.append(f"[{group}]")
        for k, v in keys.items():
            out.append(f"{k}={v}")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- #
# WebSocket client
# --------------------------------------------------------------------------- #

class Timeout(Exception):
    pass


class Client:
    """One WSS connection: requests with ids, a buffer of events, the close code."""

    _open = []
    _ids = itertools.count(1)

    def __init__(self, ws):
        self.ws = ws
        self.events = []          # buffered events (no "id" key), oldest first
        self.null_replies = []    # replies with "id": null (unparseable requests)
        self.pending = {}         # id -> future
        self.arrived = asyncio.Event()
        self.close_code = None
        self.closed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())
        self.session_id = None
        self.token = None
        self.username = None

    @classmethod
    async def connect(cls, server, origin=None, source=None, url=None, max_size=1 << 22,
                      extra_headers=None):
        """Opens wss://127.0.0.1:PORT/ws with Origin (default: the server's public URL).
        source binds the client side to another loopback address (e.g. 127.0.0.2)."""
        kw = {}
        if source:
            kw["local_addr"] = (source, 0)
        ws = await websockets.connect(url or server.ws_url, ssl=insecure_ssl(),
                                      origin=origin or server.origin, compression=None,
                                      max_size=max_size, open_timeout=10, ping_interval=None,
                                      close_timeout=2, extra_headers=extra_headers, **kw)
        c = cls(ws)
        c.server = server
        cls._open.append(c)
        return c

    @classmethod
    async def close_all(cls):
        for c in list(cls._open):
            await c.close()

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except (ValueError, TypeError):
                    msg = {"type": "_unparseable", "raw": raw}
                if isinstance(msg, dict) and "id" in msg:
                    fut = self.pending.pop(msg["id"], None) if msg["id"] is not None else None
                    if fut and not fut.done():
                        fut.set_result(msg)
                    elif msg["id"] is None:
                        self.null_replies.append(msg)
                    else:
                        self.events.append(msg)  # a reply nobody waits for
                else:
                    self.events.append(msg)
                self.arrived.set()
        except websockets.exceptions.ConnectionClosed as e:
            self.close_code = e.code
        except Exception:  # noqa: BLE001 - transport errors end the reader
            self.close_code = self.close_code or 1006
        finally:
            if self.close_code is None:
                rcvd = getattr(self.ws, "close_rcvd", None)
                self.close_code = rcvd.code if rcvd else (self.ws.close_code or 1006)
            self.closed.set()
            self.arrived.set()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError(f"closed ({self.close_code})"))
            self.pending.clear()

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def send_raw(self, data):
        await self.ws.send(data)

    async def request(self, type_, timeout=10.0, id_=None, **fields):
        """Sends {"type": type_, "id": fresh, **fields}; returns the reply (ok or error)."""
        rid = next(Client._ids) if id_ is None else id_
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.send({"type": type_, "id": rid, **fields})
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self.pending.pop(rid, None)
            raise Timeout(f"no reply to {type_} (id {rid}) within {timeout} s")

    async def request_raw(self, obj_or_text, rid, timeout=10.0):
        """Sends a hand-made frame whose id is rid; waits for that reply."""
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.send_raw(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self.pending.pop(rid, None)
            raise Timeout(f"no reply to id {rid!r} within {timeout} s")

    async def null_reply(self, timeout=5.0):
        """The next reply whose id is null (to a frame that could not be parsed)."""
        deadline = time.monotonic() + timeout
        while not self.null_replies:
            left = deadline - time.monotonic()
            if left <= 0 or self.closed.is_set():
                raise Timeout("no reply with id null")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass
        return self.null_replies.pop(0)

    def _take(self, type_, match):
        for i, ev in enumerate(self.events):
            if ev.get("type") == type_ and (match is None or match(ev)):
                return self.events.pop(i)
        return None

    async def expect_event(self, type_, timeout=5.0, match=None):
        """The first buffered or arriving event of type_ (and match); raises Timeout."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self._take(type_, match)
            if ev is not None:
                return ev
            left = deadline - time.monotonic()
            if left <= 0 or self.closed.is_set():
                raise Timeout(f"no '{type_}' event within {timeout} s "
                              f"(buffered: {short([e.get('type') for e in self.events])}, "
                              f"close code {self.close_code})")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def maybe_event(self, type_, timeout=1.0, match=None):
        """Like expect_event, but None on timeout."""
        try:
            return await self.expect_event(type_, timeout, match)
        except Timeout:
            return None

    async def wait_position(self, position, timeout=5.0):
        """Consumes queue.update events until one says position; returns it or None."""
        return await self.maybe_event("queue.update", timeout,
                                      lambda e: e.get("position") == position)

    def drain(self, type_=None):
        """Removes and returns the buffered events (of type_ only, if given)."""
        if type_ is None:
            out, self.events = self.events, []
            return out
        out = [e for e in self.events if e.get("type") == type_]
        self.events = [e for e in self.events if e.get("type") != type_]
        return out

    def last_position(self):
        """The position in the latest buffered queue.update (consumes them), or None."""
        ups = self.drain("queue.update")
        return ups[-1]["position"] if ups else None

    async def wait_closed(self, timeout=5.0):
        """The close code once the connection is closed, or None if still open."""
        try:
            await asyncio.wait_for(self.closed.wait(), timeout)
        except asyncio.TimeoutError:
            return None
        return self.close_code

    def drop(self):
        """Simulates a network drop: the TCP connection goes away without a close frame."""
        self.ws.transport.abort()

    async def close(self):
        if self in Client._open:
            Client._open.remove(self)
        try:
            await asyncio.wait_for(self.ws.close(), 3)
        except Exception:  # noqa: BLE001
            pass
        self.reader.cancel()
        try:
            await self.reader
        except BaseException:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #

def random_code():
    """A well-formed invite code that is almost surely unknown."""
    s = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(12))
    return f"{s[0:4]}-{s[4:8]}-{s[8:12]}"


def code_with_locator(code, exclude=None):
    """A well-formed code with the same first four symbols as code, other secret part."""
    loc = code.replace("-", "")[:4]
    while True:
        rest = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))
        cand = f"{loc}-{rest[:4]}-{rest[4:]}"
        if cand != code and cand != exclude:
            return cand


def find_col(row, *names):
    """The value of the first column of row whose name is one of names (or contains one)."""
    for n in names:
        if n in row:
            return row[n]
    for n in names:
        for k, v in row.items():
            if k and n in k:
                return v
    return None


def session_row(rows, session_id):
    """The CSV row of a session id (column session_id, id or session), or None."""
    for r in rows:
        for name in ("session_id", "id", "session"):
            if name in r:
                if str(r[name]) == str(session_id):
                    return r
                break
    return None


async def sleep(s):
    await asyncio.sleep(s)


# --------------------------------------------------------------------------- #
# the native test peer (tools/testpeer.c)
# --------------------------------------------------------------------------- #

TESTPEER = os.environ.get("TC_TESTPEER", os.path.join(BUILD_DIR, "tc-testpeer"))


def testpeer_result(stdout):
    """The last JSON line a tc-testpeer printed, or None."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


async def run_testpeer(args, env=None, stdin=None, timeout=90, tail_lines=None):
    """Runs tc-testpeer (our own child, killed by its handle after timeout s) with args and
    extra environment; the caller's own TC_PEER_* variables are not passed on, so that a
    test's peers are what the test says. Returns (exit code, result dict or None, stderr:
    all of it, or its last tail_lines lines)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TC_PEER_")}
    full_env.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        TESTPEER, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=full_env)
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin else None), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    text = err.decode(errors="replace")
    if tail_lines:
        text = "\n".join(text.splitlines()[-tail_lines:])
    return proc.returncode, testpeer_result(out.decode(errors="replace")), text
