#!/usr/bin/python3
"""chaos.py: a seeded chaos test of telecounter's signaling and routing core.

Many virtual customers, agents and ops clients do random legal and illegal things, in an
order drawn from one seed, against the real server: join, redeem invites, resume from a
second connection while the first lingers, reload (close + resume), drop (abort the TCP
connection), come back, leave, hang up, rate; log in again in a second tab while the first
stays open, log out, go available or not ready, accept, decline, let a ring time out, record
outcomes, issue invites; ops re-login, watch queues and read the stats; garbage frames.
Customers send no offer, or a tiny fixed SDP (no media is brought up).

  tools/chaos.py --seed N --duration S            start a server of its own (build/ binaries,
                                                  or --binary/--admin, or TC_BINARY/TC_ADMIN)
  tools/chaos.py --seed N --duration S --url wss://127.0.0.1:PORT/ws --config CONF [--log FILE]
                                                  drive a running server: CONF is its config
                                                  (timers, database); chaos_* accounts are added
                                                  to its database with telecounter-admin

The actions and their order are a function of the seed: each step draws the same numbers
(kind, actor, four parameters) whatever the server answered. What an action then does with
them depends on what the server said (which ring to accept; accept, decline, hang up and
outcome go to an agent that has a ring, a call or after-call work, if one has), and timing
varies with the clock; no assertion depends on timing luck: timers get slack, and where a
deadline is passed the driver first makes sure the server's loop ran (two pings 0.6 s apart)
before calling it a failure. A failure prints the seed, the step and the last 20 actions;
--steps N replays up to step N. Two actions run things at the same moment: two connections
resuming one session (exactly one must be replaced) and customer and agent ending one call.

A server of our own runs with ASAN_OPTIONS max_free_fill_size/free_fill_byte added: ASan
keeps freed blocks in quarantine unchanged, and a stale pointer read by GLib (not
instrumented) would still find its old value there; filled, it does not, and the fault shows.

Invariants, checked against the server's own view (replies and events, the stats API
GET /api/v1/stats/live and `stats.live`, and the SQLite database opened read-only):

  I1 alive: after every step the server runs (its PID, or /healthz with --url); every
     request with an id gets a reply within REPLY_TIMEOUT_S; at the end SIGTERM stops it
     with status 0; its output holds no sanitizer report (AddressSanitizer, LeakSanitizer,
     UBSan "runtime error:") and no GLib-CRITICAL.
  I2 gone customers end: a session whose connections are all gone (closed or aborted by us,
     closed by the server, or replaced) since wall time G has ended_at set in the database
     once G + resume_window_s + SLACK_S has passed. If not, the driver makes sure the
     server's loop ran (two pings 0.6 s apart: its 200 ms tick ran too) and waits up to
     LATE_S more (a loaded machine); a session still open then is a failure (a late one is
     counted in the summary).
  I3 no ring for the gone: a `ring` for session S (server time >= queued_at + waited_s) and
     an `agent.accept.ok` (answered_at) come no later than G + resume_window_s + SLACK_S +
     LATE_S while S's customer has been gone since G, and never after S ended (ended_at).
  I4 one agent (one customer session) on one connection: a login (a customer.resume) on a
     new connection while an older one of the same account (session) is open makes the
     older one receive `session.replaced` before the answer to anything asked on it later,
     and the server closes it; after `session.replaced` or `logout.ok` a connection gets no
     events. The newest connection's view of the agent (login.ok state, replies, agent.state
     events) moves only along the documented transitions: `ring` only to an available agent,
     agent.state/logout refused exactly while ringing or on a call, accept and decline ok
     exactly for the ring being shown. Events on a customer connection name only its own
     session. A refused login replaces nothing.
  I5 acknowledged writes are in the database when the reply arrives: join/redeem (row, desk,
     priority, invite redeemed), leave (ended, reason), hangup (ended), accept (answered_at,
     agent_id), decline (audit row), outcome (code, notes; ok exactly when the agent answered
     that session), rate (rating, comment; at most one ok per session, already_rated only
     after one), invite.create (row, issuer, expiry), session.ended events and
     resume -> session_ended (end_reason); a resume never answers not_found for a token the
     server gave, nor ok for a session that ended before it was asked.
  I6 database rows are coherent: end_reason set exactly when ended_at is, and one of the
     documented reasons; completed/customer_gone/agent_gone only after an answer,
     abandoned/missed only without; answered => agent_id; queued <= offered <= answered <=
     ended; a rating only on an ended session; an outcome only on an answered one; an invite
     redeemed by at most one session, and every invite session's invite is redeemed.
  I7 live stats agree with the database, at a cut where two reads of the database around the
     stats request agree: per desk `waiting` = open unanswered sessions and `invites_waiting`
     = those with an invite; `active_calls` = open answered sessions (and their agent);
     `today` (sessions, ended, answered, rated, by_reason) and each desk's `today` = SQL over
     today's rows. The HTTP answer is 200 for ops, 403 for an agent's token, 401 without.
  I8 agent states agree with the stats, at a cut where pings on every agent connection before
     and after the stats request saw no state change: for available, ringing and not_ready
     (in total and per desk skill) the count equals our connected agents in that state, give
     or take agents whose connection went away moments ago or whose window is ending;
     on_call, after_call_work and offline are at least ours, the excess no more than our
     dropped agents still within the window.
  I9 invites: an issued, unexpired code, not redeemed and guessed wrong fewer than
     max_attempts times, redeems (throttling is off here); a redeemed code never again.
  At the end every connection goes; within the window (+ slack) every session has ended and
  no agent is left; SIGTERM -> exit status 0; no session is open in the database.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
import tchelper  # noqa: E402  (re-executes under Debian's python3 if websockets is missing)

import argparse  # noqa: E402
import atexit  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import configparser  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import websockets  # noqa: E402
import websockets.exceptions  # noqa: E402

REPLY_TIMEOUT_S = 20.0
STEP_TIMEOUT_S = 60.0
SLACK_S = 2.0          # on top of a timer: the 200 ms tick, noticing a close, a busy loop
LATE_S = 5.0           # more, on a loaded machine, before a late end or ring is a failure
NOTICE_S = 5.0         # a connection we closed is surely noticed by the server after this
N_CUSTOMERS = 14
DESKS = ["id_check", "broadband", "urgent_sim"]
AGENT_SKILLS = [DESKS, ["broadband"], ["id_check", "urgent_sim"], ["broadband", "urgent_sim"],
                ["id_check", "broadband"]]
OPS = ["chaos_ops0", "chaos_ops1"]   # 0 reads the stats for the checks; 1 is part of the chaos
END_REASONS = {"completed", "abandoned", "missed", "customer_gone", "agent_gone", "failed",
               "server_shutdown"}
ERROR_CODES = {"bad_json", "bad_request", "unknown_type", "unsupported_version", "forbidden",
               "bad_credentials", "unknown_desk", "invalid_code", "throttled", "rate_limited",
               "bad_state", "not_found", "session_ended", "already_rated", "not_ended",
               "bad_sdp", "internal"}
AGENT_STATES = ["available", "ringing", "on_call", "after_call_work", "not_ready", "offline"]
AGENT_REQUESTS = {"agent.state", "agent.accept", "agent.decline", "agent.outcome", "hangup",
                  "logout"}
# Server-initiated agent.state events: previous state -> states it may move to.
EVENT_MOVES = {"available": {"ringing"}, "ringing": {"not_ready", "available"},
               "on_call": {"after_call_work"}, "after_call_work": {"available"}}
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|GLib-CRITICAL|"
                       r"GLib-GObject-CRITICAL|SUMMARY: UndefinedBehavior")
CHAOS_CONFIG = {
    "routing": {"ring_timeout_s": 3, "after_call_work_s": 2, "resume_window_s": 3},
    "limits": {"messages_per_s": 1000, "message_burst": 1000, "connections_per_address": 1000,
               "sessions_per_address": 100000, "joins_per_minute": 100000},
    "invites": {"address_failures": 10000, "max_attempts": 5},
    "media": {"workers": 1, "loopback": "true", "grace_s": 600},
}


class Violation(Exception):
    """An invariant failed."""


class Closed(Exception):
    """The connection closed before the reply."""


def wall_ms():
    return int(time.time() * 1000)


def short(obj, limit=240):
    return tchelper.short(obj, limit)


# --------------------------------------------------------------------------- #
# One WebSocket connection
# --------------------------------------------------------------------------- #

class Conn:
    """A WSS connection whose every message goes through chaos.on_message, in order, before
    a waiting request sees its reply."""

    _n = itertools.count(1)
    _ids = itertools.count(1)

    def __init__(self, chaos, ws, label):
        self.chaos = chaos
        self.ws = ws
        self.n = next(Conn._n)
        self.label = f"{label}#{self.n}"
        self.kind = "anon"         # anon, cust, agent, ops
        self.sess = None           # the Sess a customer connection speaks for
        self.agent = None          # the Agent (or ops name) it is logged in as
        self.pending = {}
        self.null_replies = 0
        self.closed_at = None      # wall time (s) we know it is closed
        self.by_us = False
        self.close_code = None
        self.replaced_at = None
        self.logged_out = False
        self.closed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @property
    def open(self):
        return self.closed_at is None

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except (ValueError, TypeError):
                    msg = {"type": "_unparseable", "raw": str(raw)[:80]}
                if not isinstance(msg, dict):
                    msg = {"type": "_not_an_object", "raw": str(raw)[:80]}
                self.chaos.on_message(self, msg)
                if "id" in msg and msg["id"] is None:
                    self.null_replies += 1
                fut = self.pending.pop(msg.get("id"), None) if "id" in msg and \
                    msg["id"] is not None else None
                if fut and not fut.done():
                    fut.set_result(msg)
        except websockets.exceptions.ConnectionClosed as e:
            self.close_code = e.code
        except Exception:  # noqa: BLE001 - transport errors end the reader
            self.close_code = self.close_code or 1006
        finally:
            if self.close_code is None:
                self.close_code = self.ws.close_code or 1006
            if self.closed_at is None:
                self.closed_at = time.time()
            self.closed.set()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(Closed(f"{self.label} closed ({self.close_code})"))
            self.pending.clear()

    async def send_text(self, text):
        if not self.open:
            raise Closed(f"{self.label} is closed")
        try:
            await self.ws.send(text)
        except websockets.exceptions.ConnectionClosed as e:
            raise Closed(f"{self.label} closed ({e.code})") from None

    async def request(self, type_, timeout=REPLY_TIMEOUT_S, **fields):
        """Sends a request; returns its reply; raises Closed, or Violation after timeout."""
        rid = next(Conn._ids)
        return await self.request_text(json.dumps({"type": type_, "id": rid, **fields}), rid,
                                       type_, timeout)

    async def request_text(self, text, rid, what, timeout=REPLY_TIMEOUT_S):
        if not self.open:
            raise Closed(f"{self.label} is closed")
        fut = self.expect_reply(rid)
        try:
            await self.send_text(text)
        except Closed:
            self.pending.pop(rid, None)
            raise
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self.pending.pop(rid, None)
            if not self.open:
                raise Closed(f"{self.label} closed") from None
            raise Violation(f"I1: no reply to {what} (id {rid}) on {self.label} within "
                            f"{timeout} s") from None

    def expect_reply(self, rid):
        """A future for the reply with id rid; an exception it ends with (the connection
        closed) counts as seen even when nobody waits for it any more."""
        fut = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.pending[rid] = fut
        return fut

    def write_raw(self, data):
        """Writes bytes (a hand-made frame) straight to the transport."""
        if self.open:
            self.ws.transport.write(data)

    def abort(self):
        """A network drop: the TCP connection goes without a close frame."""
        if self.open:
            self.closed_at = time.time()
            self.by_us = True
            self.ws.transport.abort()

    async def close(self):
        if self.open:
            self.closed_at = time.time()
            self.by_us = True
            try:
                await asyncio.wait_for(self.ws.close(), 3)
            except Exception:  # noqa: BLE001
                self.ws.transport.abort()

    async def finish(self):
        self.abort()
        self.reader.cancel()
        try:
            await self.reader
        except BaseException:  # noqa: BLE001
            pass


def masked_frame(opcode, payload):
    """A masked client frame (RFC 6455 5.2) with any opcode and payload bytes."""
    mask, n = os.urandom(4), len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0xFE]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0xFF]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# --------------------------------------------------------------------------- #
# What the driver knows
# --------------------------------------------------------------------------- #

class Sess:
    def __init__(self, sid, token, desk, cust, invite=None):
        self.id = sid
        self.token = token
        self.desk = desk
        self.cust = cust
        self.invite = invite
        self.conns = []
        self.ended = None          # reason, once known
        self.rated = None          # rating acknowledged
        self.answered_by = None

    def live(self):
        return [c for c in self.conns if c.open and c.replaced_at is None]

    def gone_since(self):
        """Wall time (s) when the last connection went, or None while one is open."""
        if self.live() or not self.conns:
            return None
        return max(c.replaced_at if c.replaced_at is not None and
                   (c.closed_at is None or c.replaced_at < c.closed_at) else c.closed_at
                   for c in self.conns)

    def current(self):
        live = self.live()
        return live[-1] if live else None


class Customer:
    def __init__(self, idx):
        self.idx = idx
        self.sess = None
        self.conns = []


class Agent:
    def __init__(self, idx, username, skills):
        self.idx = idx
        self.username = username
        self.skills = skills
        self.account_id = None
        self.tabs = []
        self.current = None
        self.state = None
        self.ring = None
        self.call = None
        self.calls = []
        self.logged_in = False     # the server knows the agent (until logout or the window)
        self.gone_at = None
        self.auth_token = None     # of the latest login, until its logout
        self.revoked = []          # earlier ones: revoked by a logout or the next login
        self.ended_seen = set()    # sessions whose session.ended the current tab got

    def connected(self):
        return self.current is not None and self.current.open and self.logged_in


class Invite:
    def __init__(self, code, desk, expires_at_ms):
        self.code = code
        self.desk = desk
        self.expires_at_ms = expires_at_ms
        self.redeemed = False
        self.wrong = 0


# --------------------------------------------------------------------------- #
# The server: one of our own, or one running elsewhere
# --------------------------------------------------------------------------- #

_TEMPLATE_DB = None


def _accounts():
    out = [(f"chaos_agent{i}", "agent", skills) for i, skills in enumerate(AGENT_SKILLS)]
    return out + [(name, "ops", []) for name in OPS]


def _add_accounts(add):
    with ThreadPoolExecutor(max_workers=2) as pool:
        for f in [pool.submit(add, *a) for a in _accounts()]:
            f.result()


class OwnTarget:
    """A telecounter process of our own (tchelper.Server) with the chaos config."""

    def __init__(self, binary=None, admin=None):
        global _TEMPLATE_DB
        if binary:
            tchelper.BINARY = binary
        if admin:
            tchelper.ADMIN = admin
        self.srv = tchelper.Server(config=CHAOS_CONFIG, name="chaos")
        if _TEMPLATE_DB and os.path.exists(_TEMPLATE_DB):
            shutil.copyfile(_TEMPLATE_DB, self.srv.db)
        else:  # accounts cost an Argon2id hash each: made once per process, then copied
            _add_accounts(lambda n, r, s: self.srv.add_account(n, r, s or None))
            fd, _TEMPLATE_DB = tempfile.mkstemp(prefix="tc-chaos-accounts-", suffix=".db")
            os.close(fd)
            atexit.register(os.unlink, _TEMPLATE_DB)
            shutil.copyfile(self.srv.db, _TEMPLATE_DB)
        self.ws_url = self.srv.ws_url
        self.origin = self.srv.origin
        self.db_path = self.srv.db
        self.log_path = self.srv.log_path
        r = self.srv.config["routing"]
        self.window_s = float(r["resume_window_s"])
        self.ring_s = float(r["ring_timeout_s"])
        self.acw_s = float(r["after_call_work_s"])
        self.max_attempts = int(self.srv.config["invites"]["max_attempts"])
        self.max_message = 65536

    def start(self):
        # A stale pointer into freed memory must not find what it was after by luck: ASan
        # keeps freed blocks in quarantine unchanged, and GLib (not instrumented) may read
        # them unnoticed; filled, they no longer match.
        opts = os.environ.get("ASAN_OPTIONS", "")
        if "free_fill_byte" not in opts:
            os.environ["ASAN_OPTIONS"] = ":".join(
                x for x in (opts, "max_free_fill_size=65536", "free_fill_byte=190") if x)
        self.srv.start()

    def alive(self):
        return self.srv.alive()

    def http_get(self, path, token=None):
        return self.srv.http_get(path, token)

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        return self.srv.stop(timeout=30)

    def cleanup(self, keep=False):
        if keep:
            tchelper.log(f"chaos: kept {self.srv.tmp}")
            self.srv.proc = None
        else:
            self.srv.cleanup()


class UrlTarget:
    """A server someone else started; we know it from its URL and its config file."""

    def __init__(self, url, config, log=None, admin=None):
        cp = configparser.ConfigParser(interpolation=None)
        cp.read(config)
        self.ws_url = url
        m = re.match(r"wss?://([^/]+)", url)
        self.http_base = ("https://" if url.startswith("wss") else "http://") + m.group(1)
        self.origin = cp.get("server", "public_url", fallback=self.http_base)
        self.db_path = cp.get("store", "path", fallback="var/telecounter.db")
        self.log_path = log
        self.window_s = cp.getfloat("routing", "resume_window_s", fallback=60)
        self.ring_s = cp.getfloat("routing", "ring_timeout_s", fallback=20)
        self.acw_s = cp.getfloat("routing", "after_call_work_s", fallback=60)
        self.max_attempts = cp.getint("invites", "max_attempts", fallback=5)
        self.max_message = cp.getint("limits", "max_message_bytes", fallback=65536)
        admin = admin or tchelper.ADMIN

        def add(name, role, skills):
            args = [admin, "--config", config, "--db", self.db_path, "add-account", name,
                    "--role", role]
            if skills:
                args += ["--skills", ",".join(skills)]
            r = subprocess.run(args + ["--password-stdin"], input=tchelper.PASSWORD + "\n",
                               text=True, capture_output=True, timeout=60)
            if r.returncode != 0 and "exists" not in (r.stderr + r.stdout):
                raise RuntimeError(f"add-account {name}: {r.stderr.strip()}")
        _add_accounts(add)

    def start(self):
        pass

    def alive(self):
        try:
            return self.http_get("/healthz")[0] == 200
        except OSError:
            return False

    def http_get(self, path, token=None):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(self.http_base + path)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=5,
                                        context=tchelper.insecure_ssl()) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def stop(self):
        return 0

    def cleanup(self, keep=False):
        pass


class DB:
    """The server's SQLite database, read-only; each statement sees the latest commit."""

    COLS = ("id", "desk", "priority", "invite_id", "queued_at", "offered_at", "answered_at",
            "ended_at", "offers", "agent_id", "end_reason", "outcome", "notes", "rating",
            "rating_comment")

    def __init__(self, path):
        self.path = path
        self.con = None

    def q(self, sql, args=()):
        if self.con is None:
            self.con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10,
                                       isolation_level=None)
        return self.con.execute(sql, args).fetchall()

    def session(self, sid):
        rows = self.q(f"SELECT {', '.join(self.COLS)} FROM sessions WHERE id = ?", (sid,))
        return dict(zip(self.COLS, rows[0])) if rows else None

    def all_sessions(self):
        return [dict(zip(self.COLS, r))
                for r in self.q(f"SELECT {', '.join(self.COLS)} FROM sessions")]

    def close(self):
        if self.con is not None:
            self.con.close()
            self.con = None


# --------------------------------------------------------------------------- #
# The driver
# --------------------------------------------------------------------------- #

# (action, weight); each step draws one of them, an actor number and four parameters.
ACTIONS = [
    ("c_join", 10), ("c_redeem", 4), ("c_resume2", 5), ("c_reload", 4), ("c_drop", 4),
    ("c_return", 5), ("c_leave", 3), ("c_hangup", 2), ("c_rate", 4), ("c_offer", 2),
    ("c_garbage", 1),
    ("a_login", 6), ("a_ready", 10), ("a_not_ready", 2), ("a_accept", 12), ("a_decline", 3),
    ("a_hangup", 4), ("a_outcome", 4), ("a_logout", 2), ("a_drop", 2), ("a_close", 1),
    ("a_invite", 3), ("a_offer", 1), ("a_garbage", 1),
    ("o_relogin", 1), ("o_http", 2), ("o_invite", 1), ("o_watch", 1),
    ("x_garbage", 3), ("x_bad_login", 1), ("c_double_resume", 2), ("x_end_race", 3),
    ("p_short", 8), ("p_long", 0.5),
]
PREFERRED_STATE = {"a_accept": "ringing", "a_decline": "ringing", "a_hangup": "on_call",
                   "a_offer": "on_call", "a_outcome": "after_call_work"}
ACTION_NAMES = [a for a, _ in ACTIONS]
ACTION_WEIGHTS = [w for _, w in ACTIONS]


class Chaos:
    def __init__(self, target, seed, duration_s, out=tchelper.log):
        self.t = target
        self.seed = seed
        self.duration_s = duration_s
        self.out = out
        self.rng = random.Random(seed)
        self.db = DB(target.db_path)
        self.window = target.window_s
        self.customers = [Customer(i) for i in range(N_CUSTOMERS)]
        self.agents = [Agent(i, f"chaos_agent{i}", s) for i, s in enumerate(AGENT_SKILLS)]
        self.ops = {}            # name -> current Conn
        self.ops_token = None
        self.sessions = {}       # id -> Sess
        self.invites = []
        self.conns = []
        self.violations = []
        self.history = collections.deque(maxlen=20)
        self.step_no = 0
        self.state_changes = 0   # agent-state messages seen on current connections
        self.log_offset = 0
        self.counts = collections.Counter()
        self.cuts_skipped = 0
        self.spent = collections.Counter()
        self.max_steps = None

    # -- bookkeeping ---------------------------------------------------------- #

    def fail(self, what):
        """From a reader: remembered, raised after the step."""
        self.violations.append(what)

    def note(self, text):
        if self.history:
            self.history[-1] += " " + text

    async def connect(self, label):
        ws = await websockets.connect(self.t.ws_url, ssl=tchelper.insecure_ssl(),
                                      origin=self.t.origin, compression=None, max_size=1 << 22,
                                      open_timeout=15, ping_interval=None, close_timeout=2)
        c = Conn(self, ws, label)
        self.conns.append(c)
        return c

    async def req(self, conn, type_, ctx=None, **fields):
        """A request whose reply on_message interprets (ctx says for whom); returns it."""
        rid = next(Conn._ids)
        conn.ctx = getattr(conn, "ctx", {})
        conn.ctx[rid] = (type_, fields, ctx, wall_ms())
        try:
            r = await conn.request_text(json.dumps({"type": type_, "id": rid, **fields}), rid,
                                        type_)
        finally:
            conn.ctx.pop(rid, None)
        self.counts[r.get("type") if r.get("type") != "error" else "error:" + r.get("code")] += 1
        return r

    # -- messages, in arrival order ------------------------------------------ #

    def on_message(self, conn, msg):
        typ = msg.get("type", "")
        now = time.time()
        if typ == "error" and msg.get("code") not in ERROR_CODES:
            self.fail(f"I1: undocumented error code on {conn.label}: {short(msg)}")
        if "id" not in msg:  # an event
            if conn.replaced_at is not None:
                self.fail(f"I4: {conn.label} got an event after session.replaced: {short(msg)}")
            elif conn.logged_out:
                self.fail(f"I4: {conn.label} got an event after logout.ok: {short(msg)}")
            if typ == "session.replaced":
                conn.replaced_at = now
                self.counts["replaced"] += 1
                return
            if conn.kind == "cust":
                self.customer_event(conn, msg)
            elif conn.kind == "agent" and conn.agent.current is conn:
                self.agent_event(conn.agent, msg)
            return
        ctx = getattr(conn, "ctx", {}).get(msg.get("id"))
        if ctx:
            self.apply_reply(conn, ctx, msg)

    def customer_event(self, conn, msg):
        typ, s = msg.get("type"), conn.sess
        if "session_id" in msg and (s is None or msg["session_id"] != s.id):
            self.fail(f"I4: {conn.label} (session {s and s.id}) got an event of another "
                      f"session: {short(msg)}")
            return
        if typ == "session.ended":
            s.ended = msg.get("reason")
            self.check_end_reason(s.id, msg.get("reason"), f"session.ended on {conn.label}")
        elif typ in ("session.answered", "queue.update") and s.ended:
            self.fail(f"I4: {conn.label} got {typ} after its session ended ({s.ended})")

    def agent_event(self, a, msg):
        typ = msg.get("type")
        if typ == "agent.state":
            new, prev = msg.get("state"), a.state
            self.state_changes += 1
            if new not in EVENT_MOVES.get(prev, ()):
                self.fail(f"I4: {a.username}: agent.state event {prev} -> {new} is not a "
                          f"server-side transition ({short(msg)})")
            a.state = new
            if new != "ringing":
                a.ring = None
            if new == "after_call_work":
                a.call = None
        elif typ == "ring":
            self.state_changes += 1
            sid = msg.get("session_id")
            if a.state != "ringing" or a.ring is not None:
                self.fail(f"I4: {a.username} rung for {sid} while {a.state} (ring {a.ring})")
            a.ring = sid
            self.check_ring(a, msg)
        elif typ == "ring.cancelled":
            self.state_changes += 1
            if a.ring not in (None, msg.get("session_id")):
                self.fail(f"I4: {a.username}: ring.cancelled for {msg.get('session_id')} "
                          f"while rung for {a.ring}")
            a.ring = None
        elif typ == "session.ended":
            self.state_changes += 1
            sid = msg.get("session_id")
            a.ended_seen.add(sid)
            if a.call is not None and sid != a.call:
                self.fail(f"I4: {a.username} on call {a.call} told that {sid} ended")
            self.check_end_reason(sid, msg.get("reason"), f"session.ended to {a.username}")

    def check_ring(self, a, msg):
        """I3: a ring's server time is at least queued_at + waited_s."""
        sid = msg.get("session_id")
        row = self.db.session(sid)
        if row is None:
            self.fail(f"I5: {a.username} rung for session {sid}, which is not in the database")
            return
        at_least = row["queued_at"] + int(msg.get("waited_s", 0)) * 1000
        if row["ended_at"] is not None and at_least > row["ended_at"]:
            self.fail(f"I3: {a.username} rung for session {sid} at >= {at_least}, after it "
                      f"ended at {row['ended_at']} ({row['end_reason']})")
        s = self.sessions.get(sid)
        gone = s.gone_since() if s else None
        if gone is not None and at_least > (gone + self.window + SLACK_S + LATE_S) * 1000:
            self.fail(f"I3: {a.username} rung for session {sid} {at_least / 1000 - gone:.1f} s "
                      f"after its customer's last connection went (window {self.window} s)")

    def check_end_reason(self, sid, reason, what):
        row = self.db.session(sid)
        if row is None or row["ended_at"] is None or row["end_reason"] != reason:
            self.fail(f"I5: {what}: session {sid} reason {reason}, database has "
                      f"{row and (row['ended_at'], row['end_reason'])}")

    def apply_reply(self, conn, ctx, msg):
        type_, fields, who, _ = ctx
        ok = msg.get("type") == type_ + ".ok"
        if type_ in ("customer.join", "customer.redeem") and ok:
            cust, invite = who
            s = Sess(msg["session_id"], msg["token"], msg.get("desk"), cust, invite)
            self.sessions[s.id] = s
            cust.sess = s
            self.bind(conn, s)
        elif type_ == "customer.resume" and ok:
            if msg.get("session_id") != who.id:
                self.fail(f"I5: resume of {who.id} answered for {msg.get('session_id')}")
            self.bind(conn, who)
        elif type_ == "customer.leave" and ok and conn.sess:
            conn.sess.ended = msg.get("reason")
        elif type_ == "login" and ok:
            if isinstance(who, Agent):
                self.agent_logged_in(who, conn, msg)
            else:
                conn.kind, conn.agent = "ops", who
                self.ops[who] = conn
        elif conn.kind == "agent" and conn.agent.current is conn:
            self.agent_reply(conn.agent, conn, type_, fields, msg, ok)

    def bind(self, conn, s):
        conn.kind, conn.sess = "cust", s
        s.conns.append(conn)
        if conn not in s.cust.conns:
            s.cust.conns.append(conn)

    def agent_logged_in(self, a, conn, msg):
        conn.kind, conn.agent = "agent", a
        a.tabs.append(conn)
        a.current = conn
        a.logged_in = True
        a.state = msg.get("state")
        a.ring = None
        a.call = (msg.get("call") or {}).get("session_id")
        self.state_changes += 1
        if a.state not in AGENT_STATES or a.state == "offline":
            self.fail(f"I4: {a.username} logged in with state {a.state}")
        if a.state == "on_call" and a.call is None:
            self.fail(f"I4: {a.username} logged in on_call without the call: {short(msg)}")

    def agent_reply(self, a, conn, type_, fields, msg, ok):
        if type_ not in AGENT_REQUESTS:
            return
        prev, code = a.state, msg.get("code")
        free = prev in ("available", "not_ready", "after_call_work")
        self.state_changes += 1
        if type_ == "agent.state":
            if ok != free or (not ok and code != "bad_state" and code != "bad_request"):
                self.fail(f"I4: {a.username} asked for {fields.get('state')} while {prev}: "
                          f"{short(msg)}")
            if ok:
                a.state = msg.get("state")
        elif type_ in ("agent.accept", "agent.decline"):
            shown = prev == "ringing" and a.ring is not None and a.ring == fields["session_id"]
            # Logged in again while ringing: login.ok does not say for which session, so
            # whether this one is it cannot be told here.
            unknown = prev == "ringing" and a.ring is None
            if ok != shown and not unknown:
                self.fail(f"I4: {a.username} {type_} {fields['session_id']} while {prev} "
                          f"(ring {a.ring}): {short(msg)}")
            if ok and type_ == "agent.accept":
                a.state, a.call, a.ring = "on_call", fields["session_id"], None
                a.calls.append(a.call)
        elif type_ == "agent.outcome" and ok:
            new = msg.get("state")
            if new == "ringing" and prev == "after_call_work":
                # The reply names the state after the routing it set off: already rung for
                # the next customer, whose agent.state and ring events follow the reply.
                # (agent.state.ok names the state asked for instead.)
                new = "available"
                self.counts["outcome.ok says ringing"] += 1
            if new != prev and not (prev == "after_call_work" and new == "available"):
                self.fail(f"I4: {a.username}: outcome moved {prev} -> {new}")
            a.state = new
        elif type_ == "hangup" and ok != (prev == "on_call"):
            self.fail(f"I4: {a.username} hangup while {prev}: {short(msg)}")
        elif type_ == "logout":
            busy = prev in ("ringing", "on_call")
            if ok == busy:
                self.fail(f"I4: {a.username} logout while {prev}: {short(msg)}")
            if ok:
                a.revoked.append(a.auth_token)
                a.auth_token = None
                conn.logged_out = True
                conn.kind = "anon"
                a.logged_in, a.state, a.current, a.ring, a.call = False, None, None, None, None

    # -- expectations ----------------------------------------------------------- #

    def expect(self, cond, what):
        if not cond:
            raise Violation(what)

    def expect_error(self, r, codes, what):
        self.expect(r.get("type") == "error" and r.get("code") in codes,
                    f"{what}: expected error {sorted(codes)}, got {short(r)}")

    def expect_ok(self, r, type_, what):
        self.expect(r.get("type") == type_ + ".ok", f"{what}: expected {type_}.ok, got {short(r)}")

    async def expect_replaced(self, old, why):
        """I4: the older connection was told session.replaced before anything it asks now,
        and the server closes it."""
        if not old.open:
            return
        try:
            await old.request("ping")
        except Closed:
            pass
        self.expect(old.replaced_at is not None,
                    f"I4: {old.label} got no session.replaced after {why} "
                    f"(open: {old.open}, close code {old.close_code})")
        try:
            await asyncio.wait_for(old.closed.wait(), 10)
        except asyncio.TimeoutError:
            raise Violation(f"I4: {old.label} was replaced ({why}) but the server did not "
                            f"close it within 10 s") from None

    async def expect_not_replaced(self, conn, why):
        if conn is None or not conn.open:
            return
        try:
            await conn.request("ping")
        except Closed:
            pass
        self.expect(conn.replaced_at is None and conn.open,
                    f"I4: {conn.label} was replaced or closed by {why}")

    async def settle(self):
        """Makes sure the server's loop ran (and its 200 ms tick with it) for a while now."""
        ops = self.ops.get(OPS[0])
        await self.req(ops, "ping")
        await asyncio.sleep(0.6)
        await self.req(ops, "ping")

    # -- customers ------------------------------------------------------------ #

    async def retire(self, cu):
        for c in cu.conns:
            if c.open:
                await c.close()
        cu.conns = [c for c in cu.conns if c.open]

    def busy(self, cu):
        s = cu.sess
        return s is not None and s.ended is None and s.live()

    def check_joined(self, s, desk, invite):
        row = self.db.session(s.id)
        self.expect(row is not None and row["desk"] == desk and
                    row["priority"] == (1 if invite else 0) and
                    (row["invite_id"] is not None) == bool(invite),
                    f"I5: joined session {s.id} ({desk}, invite {bool(invite)}) in the "
                    f"database as {row}")
        if invite:
            inv = self.db.q("SELECT redeemed_at, desk FROM invites WHERE id = ?",
                            (row["invite_id"],))
            self.expect(inv and inv[0][0] is not None and inv[0][1] == desk,
                        f"I5: session {s.id}'s invite {row['invite_id']} is {inv}")

    async def with_session(self, cu, p):
        """Most of the time a customer without a session joins first (p[3] decides)."""
        if cu.sess is None and p[3] < 0.7:
            await self.c_join(cu, [p[0], 0.5, 1.0, 0.0])

    async def c_join(self, cu, p):
        if self.busy(cu):
            r = await self.req(cu.sess.current(), "customer.join", desk=DESKS[0])
            self.note(f"again -> {r.get('type')}:{r.get('code', '')}")
            self.expect_error(r, {"bad_state"}, "I4: a second join on a customer connection")
            return
        await self.retire(cu)
        bad = p[1] < 0.05
        desk = "no_such_desk" if bad else DESKS[int(p[0] * len(DESKS))]
        c = await self.connect(f"c{cu.idx}")
        cu.conns.append(c)
        r = await self.req(c, "customer.join", ctx=(cu, None), desk=desk)
        if bad:
            self.expect_error(r, {"unknown_desk"}, "join of an unknown desk")
            return
        self.expect_ok(r, "customer.join", "I5: join")
        self.note(f"-> s{cu.sess.id}")
        self.check_joined(cu.sess, desk, None)
        if p[2] < 0.35:
            r = await self.req(c, "offer", sdp=tchelper.FAKE_SDP)
            self.note(f"offer:{r.get('type')}")

    def code_form(self, code, u):
        if u < 0.5:
            return code
        if u < 0.7:
            return code.lower()
        if u < 0.85:
            return code.replace("-", "")
        return " " + code.replace("-", " ") + " "

    async def c_redeem(self, cu, p):
        if self.busy(cu):
            r = await self.req(cu.sess.current(), "customer.redeem", code=tchelper.random_code())
            self.expect_error(r, {"bad_state"}, "I4: a redeem on a customer connection")
            return
        await self.retire(cu)
        now = wall_ms()
        live = [i for i in self.invites if not i.redeemed and
                i.wrong < self.t.max_attempts and i.expires_at_ms > now + 5000]
        used = [i for i in self.invites if i.redeemed]
        inv, code = None, None
        if p[0] < 0.65 and live:
            inv = live[int(p[1] * len(live))]
            code, kind = inv.code, "live"
        elif p[0] < 0.8 and used:
            code, kind = used[int(p[1] * len(used))].code, "used"
        elif p[0] < 0.92 and live:
            guessed = live[int(p[1] * len(live))]
            code, kind = tchelper.code_with_locator(guessed.code), "wrong"
            guessed.wrong += 1
        else:
            locators = {i.code[:4] for i in self.invites}
            code, kind = tchelper.random_code(), "unknown"
            while code[:4] in locators:
                code = tchelper.random_code()
        c = await self.connect(f"c{cu.idx}")
        cu.conns.append(c)
        r = await self.req(c, "customer.redeem", ctx=(cu, inv), code=self.code_form(code, p[2]))
        self.note(f"{kind} -> {r.get('type')}:{r.get('code', r.get('session_id'))}")
        if kind != "live":
            self.expect_error(r, {"invalid_code"}, f"I9: redeeming a {kind} code")
            return
        self.expect_ok(r, "customer.redeem", f"I9: redeeming a live code {code}")
        inv.redeemed = True
        self.check_joined(cu.sess, inv.desk, inv)

    async def overdue_first(self, s):
        """Before resuming: a session overdue by I2 must have ended (else the resume would
        hide a ghost)."""
        g = s.gone_since()
        if s.ended is None and g is not None and time.time() > g + self.window + SLACK_S:
            await self.check_gone([s])

    async def resume(self, cu, old):
        s = cu.sess
        await self.overdue_first(s)
        c = await self.connect(f"c{cu.idx}")
        cu.conns.append(c)
        t0 = wall_ms()
        r = await self.req(c, "customer.resume", ctx=s, token=s.token)
        self.note(f"s{s.id} -> {r.get('type')}:{r.get('code', r.get('state'))}")
        if r.get("type") == "customer.resume.ok":
            row = self.db.session(s.id)
            self.expect(row["ended_at"] is None or row["ended_at"] >= t0,
                        f"I5: resume ok for session {s.id}, which ended at {row['ended_at']} "
                        f"({row['end_reason']}) before the resume ({t0})")
            self.expect(s.ended is None, f"I5: resume ok for session {s.id}, which we were "
                        f"told had ended ({s.ended})")
            for o in old:
                await self.expect_replaced(o, f"customer.resume of session {s.id}")
            return
        self.expect_error(r, {"session_ended"}, f"I5: resume of session {s.id}")
        self.check_end_reason(s.id, r.get("reason"), "resume -> session_ended")
        s.ended = r.get("reason")
        await c.close()

    async def c_resume2(self, cu, p):
        await self.with_session(cu, p)
        if cu.sess is None:
            return self.note("(no session)")
        await self.resume(cu, cu.sess.live())

    async def c_return(self, cu, p):
        await self.with_session(cu, p)
        if cu.sess is None:
            return self.note("(no session)")
        await self.resume(cu, cu.sess.live())

    async def c_reload(self, cu, p):
        await self.with_session(cu, p)
        if cu.sess is None:
            return self.note("(no session)")
        for c in cu.sess.live():
            await c.close()
        if p[0] < 0.5:
            await asyncio.sleep(p[1])
        await self.resume(cu, [])

    async def c_drop(self, cu, p):
        await self.with_session(cu, p)
        if cu.sess is None:
            return self.note("(no session)")
        for c in cu.sess.live():
            c.abort()
        self.note(f"s{cu.sess.id}")

    async def c_leave(self, cu, p):
        await self.with_session(cu, p)
        s = cu.sess
        conn = s.current() if s else None
        if conn is None:
            c = await self.connect(f"c{cu.idx}")
            r = await self.req(c, "customer.leave")
            await c.close()
            self.expect_error(r, {"forbidden"}, "customer.leave without a session")
            return
        r = await self.req(conn, "customer.leave")
        row = self.db.session(s.id)
        self.note(f"s{s.id} -> {r.get('type')}:{r.get('code', r.get('reason'))}")
        if r.get("type") == "customer.leave.ok":
            self.expect(r.get("reason") in ("completed", "abandoned") and
                        row["ended_at"] is not None and row["end_reason"] == r.get("reason"),
                        f"I5: leave of {s.id} ok ({r.get('reason')}), database: {row}")
        else:
            self.expect_error(r, {"session_ended", "not_found"}, f"leave of {s.id}")
            self.expect(row["ended_at"] is not None,
                        f"I5: leave of open session {s.id} refused: {short(r)}")

    async def c_hangup(self, cu, p):
        await self.with_session(cu, p)
        s = cu.sess
        conn = s.current() if s else None
        if conn is None:
            return self.note("(no connection)")
        r = await self.req(conn, "hangup")
        row = self.db.session(s.id)
        self.note(f"s{s.id} -> {r.get('type')}:{r.get('code', '')}")
        if r.get("type") == "hangup.ok":
            self.expect(row["ended_at"] is not None, f"I5: hangup of {s.id} ok, not ended")
        else:
            self.expect_error(r, {"session_ended", "not_found"}, f"hangup of {s.id}")
            self.expect(row["ended_at"] is not None,
                        f"I5: hangup of open session {s.id} refused: {short(r)}")

    async def c_rate(self, cu, p):
        s = cu.sess
        if s is None:
            return self.note("(no session)")
        rating, comment = 1 + int(p[0] * 5), f"chaos {int(p[1] * 1000)}"
        conn, temp = s.current(), None
        fields = {"rating": rating, "comment": comment}
        if conn is None or p[2] < 0.5:
            conn = temp = await self.connect(f"c{cu.idx}")
            fields["token"] = s.token
        t0 = wall_ms()
        try:
            r = await self.req(conn, "customer.rate", **fields)
        finally:
            if temp:
                await temp.close()
        row = self.db.session(s.id)
        self.note(f"s{s.id} {rating} -> {r.get('type')}:{r.get('code', '')}")
        if r.get("type") == "customer.rate.ok":
            self.expect(s.rated is None, f"I5: session {s.id} rated ok twice")
            self.expect(row["rating"] == rating and row["rating_comment"] == comment,
                        f"I5: rating {rating} of {s.id} acknowledged, database: {row}")
            s.rated = rating
        elif r.get("code") == "already_rated":
            self.expect(s.rated is not None or getattr(s, "rate_unknown", False),
                        f"I5: session {s.id} already_rated, but never rated")
        else:
            self.expect_error(r, {"not_ended"}, f"rating of {s.id}")
            self.expect(row["ended_at"] is None or row["ended_at"] >= t0,
                        f"I5: rating of {s.id} refused not_ended, but it ended at "
                        f"{row['ended_at']} before the request ({t0})")
        if s.rated is not None:
            self.expect(row["rating"] == s.rated, f"I5: rating of {s.id} changed: {row}")

    async def c_offer(self, cu, p):
        await self.with_session(cu, p)
        s = cu.sess
        conn = s.current() if s else None
        if conn is None:
            return self.note("(no connection)")
        r = await self.req(conn, "offer", sdp=tchelper.FAKE_SDP)
        self.note(f"-> {r.get('type')}:{r.get('code', '')}")

    async def c_garbage(self, cu, p):
        s = cu.sess
        conn = s.current() if s else None
        if conn is None:
            conn = await self.connect(f"c{cu.idx}")
        await self.garbage(conn, p)

    # -- agents --------------------------------------------------------------- #

    def account_id(self, username):
        rows = self.db.q("SELECT id FROM accounts WHERE username = ?", (username,))
        return rows[0][0] if rows else None

    def agent_conn(self, a):
        return a.current if a.connected() else None

    async def logged_in(self, a, p):
        """The agent's connection; most of the time an agent who is not logged in logs in
        first (p[3] decides), else None (and the caller tries without)."""
        if a.connected() or p[3] >= 0.75:
            return self.agent_conn(a)
        await self.a_login(a, [0.5, 1.0, 0.0, 0.0])
        return self.agent_conn(a)

    async def a_login(self, a, p):
        wrong = p[0] < 0.06
        old = self.agent_conn(a)
        c = await self.connect(f"a{a.idx}")
        r = await self.req(c, "login", ctx=a, username=a.username,
                           password="wrong password" if wrong else tchelper.PASSWORD)
        self.note(f"-> {r.get('type')}:{r.get('code', r.get('state'))}"
                  + (f" (old {old.label})" if old else ""))
        if wrong:
            self.expect_error(r, {"bad_credentials"}, "login with a wrong password")
            await c.close()
            await self.expect_not_replaced(old, "a refused login")
            return
        self.expect_ok(r, "login", f"login of {a.username}")
        if a.auth_token:
            a.revoked.append(a.auth_token)
        a.auth_token = r.get("auth_token")
        if a.account_id is None:
            a.account_id = self.account_id(a.username)
        if old is not None:
            await self.expect_replaced(old, f"a second login of {a.username}")
        for tab in a.tabs:  # a tab that logged out is nobody's: a login leaves it alone
            if tab.logged_out and tab.open:
                await self.expect_not_replaced(tab, f"a login of {a.username} after its logout")
        if p[1] < 0.3:
            r = await self.req(c, "queue.watch")
            self.expect_ok(r, "queue.watch", "queue.watch")

    async def no_agent(self, a, type_, **fields):
        """The agent is not logged in: the same request from a fresh connection is refused."""
        c = await self.connect(f"a{a.idx}")
        r = await self.req(c, type_, **fields)
        await c.close()
        self.expect_error(r, {"forbidden"}, f"{type_} before login")

    async def a_ready(self, a, p, state="available"):
        conn = await self.logged_in(a, p)
        if conn is None:
            return await self.no_agent(a, "agent.state", state=state)
        fields = {"state": state}
        if state == "not_ready":
            fields["reason"] = "chaos"
        r = await self.req(conn, "agent.state", **fields)
        self.note(f"-> {r.get('type')}:{r.get('code', r.get('state'))}")

    async def a_not_ready(self, a, p):
        await self.a_ready(a, p, "not_ready")

    def some_session(self, u):
        ids = sorted(self.sessions)
        return ids[int(u * len(ids))] if ids else 10 ** 12

    async def a_accept(self, a, p, type_="agent.accept"):
        conn = await self.logged_in(a, p)
        if conn is None:
            return await self.no_agent(a, type_, session_id=self.some_session(p[1]))
        sid = a.ring if a.ring is not None and p[0] >= 0.12 else self.some_session(p[1])
        r = await self.req(conn, type_, session_id=sid)
        self.note(f"s{sid} -> {r.get('type')}:{r.get('code', '')}")
        if r.get("type") == "agent.decline.ok":
            rows = self.db.q("SELECT count(*) FROM audit WHERE session_id = ? AND "
                             "account_id = ? AND event = 'declined'", (sid, a.account_id))
            self.expect(rows[0][0] >= 1, f"I5: decline of {sid} by {a.username} not audited")
        if r.get("type") != "agent.accept.ok":
            return
        row = self.db.session(sid)
        self.expect(row["answered_at"] is not None and row["agent_id"] == a.account_id,
                    f"I5: accept of {sid} by {a.username} acknowledged, database: {row}")
        s = self.sessions.get(sid)
        gone = s.gone_since() if s else None
        self.expect(gone is None or
                    row["answered_at"] <= (gone + self.window + SLACK_S + LATE_S) * 1000,
                    f"I3: {a.username} answered session {sid} "
                    f"{row['answered_at'] / 1000 - (gone or 0):.1f} s after its customer's last "
                    f"connection went")
        if s:
            s.answered_by = a
        if p[2] < 0.2:
            r = await self.req(conn, "offer", sdp=tchelper.FAKE_SDP)
            self.note(f"offer:{r.get('type')}:{r.get('code', '')}")

    async def a_decline(self, a, p):
        await self.a_accept(a, p, "agent.decline")

    async def a_hangup(self, a, p):
        conn = await self.logged_in(a, p)
        if conn is None:
            return self.note("(not logged in)")
        call = a.call
        r = await self.req(conn, "hangup")
        self.note(f"call {call} -> {r.get('type')}:{r.get('code', '')}")
        if r.get("type") == "hangup.ok" and call is not None:
            row = self.db.session(call)
            self.expect(row["ended_at"] is not None, f"I5: hangup of {call} ok, not ended")

    async def a_outcome(self, a, p):
        conn = await self.logged_in(a, p)
        if conn is None:
            return await self.no_agent(a, "agent.outcome", session_id=1, code="x")
        if p[0] < 0.75 and a.calls:
            sid = a.calls[-1 - int(p[1] * min(3, len(a.calls)))]
        else:
            sid = self.some_session(p[1])
        code = ["resolved", "callback", "escalated", "no_show"][int(p[2] * 4)]
        notes = f"notes {int(p[3] * 10000)}"
        r = await self.req(conn, "agent.outcome", session_id=sid, code=code, notes=notes)
        row = self.db.session(sid)
        mine = row is not None and row["agent_id"] == a.account_id and \
            row["answered_at"] is not None
        ok = r.get("type") == "agent.outcome.ok"
        self.note(f"s{sid} -> {r.get('type')}:{r.get('code', r.get('state'))}")
        self.expect(ok == mine, f"I5: outcome for {sid} by {a.username}: {short(r)}, "
                    f"database: {row}")
        if ok:
            self.expect(row["outcome"] == code and row["notes"] == notes,
                        f"I5: outcome {code} for {sid} acknowledged, database: {row}")

    async def a_logout(self, a, p):
        conn = await self.logged_in(a, p)
        if conn is None:
            return await self.no_agent(a, "logout")
        r = await self.req(conn, "logout")
        self.note(f"-> {r.get('type')}:{r.get('code', '')}")
        if r.get("type") == "logout.ok" and p[0] < 0.5:
            await conn.close()

    async def a_drop(self, a, p):
        conn = self.agent_conn(a)
        if conn is None:
            return self.note("(not logged in)")
        self.note(f"{conn.label} while {a.state}")
        conn.abort()

    async def a_close(self, a, p):
        conn = self.agent_conn(a)
        if conn is None:
            return self.note("(not logged in)")
        self.note(f"{conn.label} while {a.state}")
        await conn.close()

    async def invite(self, conn, who, issuer_id, p):
        desk = "urgent_sim" if p[0] < 0.6 else DESKS[int(p[2] * len(DESKS))]
        fields = {"desk": desk, "case_ref": f"CH-{self.step_no}", "valid_s": 600}
        bad = None
        if p[1] < 0.08:
            fields["valid_s"], bad = 10 ** 6, {"bad_request"}
        elif p[1] < 0.12:
            fields["desk"], bad = "nope", {"unknown_desk"}
        elif p[1] < 0.16:
            fields["case_ref"], bad = "", {"bad_request"}
        r = await self.req(conn, "invite.create", **fields)
        self.note(f"{who} -> {r.get('type')}:{r.get('code', r.get('code'))}")
        if bad:
            return self.expect_error(r, bad, f"invite.create {fields}")
        self.expect_ok(r, "invite.create", "invite.create")
        rows = self.db.q("SELECT count(*) FROM invites WHERE issued_by = ? AND expires_at = ? "
                         "AND desk = ? AND case_ref = ?",
                         (issuer_id, r.get("expires_at"), desk, fields["case_ref"]))
        self.expect(rows[0][0] == 1, f"I5: invite {r.get('code')} acknowledged, not stored")
        self.invites.append(Invite(r["code"], desk, r["expires_at"]))

    async def a_invite(self, a, p):
        conn = await self.logged_in(a, p)
        if conn is None:
            return self.note("(not logged in)")
        await self.invite(conn, a.username, a.account_id, p)

    async def a_offer(self, a, p):
        conn = await self.logged_in(a, p)
        if conn is None:
            return self.note("(not logged in)")
        r = await self.req(conn, "offer", sdp=tchelper.FAKE_SDP)
        self.note(f"while {a.state} -> {r.get('type')}:{r.get('code', '')}")

    async def a_garbage(self, a, p):
        conn = await self.logged_in(a, p)
        if conn is None:
            return self.note("(not logged in)")
        await self.garbage(conn, p)

    # -- ops ------------------------------------------------------------------ #

    async def ops_login(self, name):
        old = self.ops.get(name)
        old = old if old is not None and old.open else None
        c = await self.connect(name)
        r = await self.req(c, "login", ctx=name, username=name, password=tchelper.PASSWORD)
        self.expect_ok(r, "login", f"login of {name}")
        if old is not None:
            await self.expect_replaced(old, f"a second login of {name}")
        return r

    async def o_relogin(self, _, p):
        await self.ops_login(OPS[1])
        if p[0] < 0.5:
            r = await self.req(self.ops[OPS[1]], "queue.watch")
            self.expect_ok(r, "queue.watch", "queue.watch")

    async def o_http(self, _, p):
        status, body = await asyncio.to_thread(self.t.http_get, "/api/v1/stats/live",
                                               self.ops_token)
        self.expect(status == 200 and isinstance(json.loads(body), dict),
                    f"I7: stats for ops -> {status}")
        agents = [a for a in self.agents if a.auth_token]
        revoked = [t for a in self.agents for t in a.revoked]
        if agents and p[0] < 0.5:
            a = agents[int(p[1] * len(agents))]
            status, _ = await asyncio.to_thread(self.t.http_get, "/api/v1/stats/live",
                                                a.auth_token)
            self.expect(status == 403, f"I7: stats with {a.username}'s token -> {status}")
        elif revoked and p[0] < 0.75:
            status, _ = await asyncio.to_thread(self.t.http_get, "/api/v1/stats/live",
                                                revoked[int(p[1] * len(revoked))])
            self.expect(status == 401, f"I7: stats with a revoked token -> {status}")
        else:
            status, _ = await asyncio.to_thread(self.t.http_get, "/api/v1/stats/live",
                                                "0" * 32)
            self.expect(status == 401, f"I7: stats with a bad token -> {status}")

    async def o_invite(self, _, p):
        conn = self.ops.get(OPS[1])
        if conn is None or not conn.open:
            await self.ops_login(OPS[1])
            conn = self.ops[OPS[1]]
        await self.invite(conn, OPS[1], self.account_id(OPS[1]), p)

    async def o_watch(self, _, p):
        conn = self.ops.get(OPS[1])
        if conn is None or not conn.open:
            return self.note("(ops1 not connected)")
        r = await self.req(conn, "queue.watch")
        self.expect_ok(r, "queue.watch", "queue.watch")

    # -- anyone ----------------------------------------------------------------- #

    async def x_garbage(self, _, p):
        c = await self.connect("x")
        await self.garbage(c, p)
        await c.close()

    async def x_bad_login(self, _, p):
        a = self.agents[int(p[0] * len(self.agents))]
        c = await self.connect("x")
        user = a.username if p[1] < 0.7 else "nobody_here"
        r = await self.req(c, "login", username=user, password="not the password")
        await c.close()
        self.expect_error(r, {"bad_credentials"}, f"login of {user} with a wrong password")
        await self.expect_not_replaced(self.agent_conn(a), "a refused login from elsewhere")

    async def c_double_resume(self, cu, p):
        """Two new connections resume one session at once: one of them is replaced."""
        await self.with_session(cu, p)
        s = cu.sess
        if s is None:
            return self.note("(no session)")
        await self.overdue_first(s)
        old = s.live()
        c1, c2 = await self.connect(f"c{cu.idx}"), await self.connect(f"c{cu.idx}")
        cu.conns += [c1, c2]
        rs = await asyncio.gather(self.req(c1, "customer.resume", ctx=s, token=s.token),
                                  self.req(c2, "customer.resume", ctx=s, token=s.token),
                                  return_exceptions=True)
        for r in rs:
            if isinstance(r, BaseException) and not isinstance(r, Closed):
                raise r
        oks = [c for c, r in zip((c1, c2), rs)
               if isinstance(r, dict) and r.get("type") == "customer.resume.ok"]
        self.note(f"s{s.id} -> {[r.get('type') if isinstance(r, dict) else 'closed' for r in rs]}")
        for c, r in zip((c1, c2), rs):
            if isinstance(r, dict) and r.get("type") != "customer.resume.ok":
                self.expect_error(r, {"session_ended"}, f"I5: resume of session {s.id}")
                self.check_end_reason(s.id, r.get("reason"), "resume -> session_ended")
                s.ended = r.get("reason")
                await c.close()
        if not oks:
            return
        for o in old:
            await self.expect_replaced(o, f"two resumes of session {s.id}")
        if len(oks) == 2:
            self.counts["double resumes"] += 1
            for c in oks:
                try:
                    await c.request("ping")
                except Closed:
                    pass
            replaced = [c for c in oks if c.replaced_at is not None]
            self.expect(len(replaced) == 1, f"I4: two resumes of session {s.id} at once: "
                        f"{len(replaced)} of the two connections replaced (1 expected)")
            await self.expect_replaced(replaced[0], f"the other resume of session {s.id}")

    async def x_end_race(self, _, p):
        """Customer and agent end the same call at the same moment."""
        calls = [(a, self.sessions.get(a.call)) for a in self.agents
                 if a.connected() and a.state == "on_call" and a.call in self.sessions]
        calls = [(a, s) for a, s in calls if s.current() is not None and s.ended is None]
        if not calls:
            return self.note("(no call)")
        a, s = calls[int(p[0] * len(calls))]
        how = "customer.leave" if p[1] < 0.5 else "hangup"
        self.counts["end races"] += 1
        rs = await asyncio.gather(self.req(s.current(), how), self.req(a.current, "hangup"),
                                  return_exceptions=True)
        for r in rs:
            if isinstance(r, BaseException) and not isinstance(r, Closed):
                raise r
        self.note(f"s{s.id} {a.username}: {how} and hangup -> "
                  f"{[r.get('type') if isinstance(r, dict) else 'closed' for r in rs]}")
        row = self.db.session(s.id)
        self.expect(row["ended_at"] is not None and row["end_reason"] == "completed",
                    f"I5: session {s.id} after {how} and hangup at once: {row}")
        oks = [r for r in rs if isinstance(r, dict) and r.get("type", "").endswith(".ok")]
        self.expect(oks, f"I5: {how} and hangup of {s.id} at once: neither ok: {rs}")
        deadline = time.time() + 10
        while time.time() < deadline and a.connected() and s.id not in a.ended_seen:
            await asyncio.sleep(0.1)
        self.expect(not a.connected() or s.id in a.ended_seen,
                    f"I4: {a.username} was not told that session {s.id} ended")

    async def p_short(self, _, p):
        await asyncio.sleep(0.02 + p[0] * 0.3)

    async def p_long(self, _, p):
        await asyncio.sleep(self.t.ring_s + 0.3 + p[0] * 1.5)

    # -- garbage ------------------------------------------------------------- #

    def garbage_items(self, g, rid):
        """(kind, data): 'id' must get a reply with that id (or one with id null), 'any'
        may get an error or nothing, 'close' must make the server close the connection,
        'raw' is written as a hand-made frame (any outcome but a crash)."""
        token = "".join(g.choice("0123456789abcdef") for _ in range(32))
        with_id = [
            '{"type":"nope","id":%d}', '{"type":5,"id":%d}', '{"id":%d}',
            '{"type":"ping","id":%d,"extra":[1,2,{"a":null}]}',
            '{"type":"customer.rate","id":%d,"rating":9}',
            '{"type":"agent.accept","id":%d,"session_id":"abc"}', '{"type":"login","id":%d}',
            '{"type":"answer","id":%d,"sdp":"x"}',
            '{"type":"candidate","id":%d,"candidate":"garbage"}',
            '{"type":"hello","id":%d,"protocol":99}',
            '{"type":"customer.join","id":%d,"desk":"no_such_desk","desk":"nope"}',
            '{"type":"customer.resume","id":%d,"token":"' + token + '"}',
            '{"type":"stats.live","id":%d}',
            '{"type":"agent.outcome","id":%d,"session_id":9007199254740993,"code":"x"}',
            '{"type":"invite.create","id":%d,"case_ref":""}',
            '{"type":"ping","id":%d,"x":"\\u0000\\ud800"}',
            '{"type":"offer","id":%d,"sdp":"v=0\\r\\nm=audio 0 RTP/AVP 0\\r\\n"}',
        ]
        anything = ["not json at all", "[1,2,3]", '{"type":"ping","id":-5}',
                    '{"type":"ping","id":1.5}', '{"type":"ping","id":"' + "x" * 70 + '"}',
                    "[" * 3000 + "]" * 3000, '"\\ud800"', "", "{" * 10]
        pick = g.randrange(100)
        if pick < 60:
            return "id", with_id[g.randrange(len(with_id))] % rid
        if pick < 88:
            return "any", anything[g.randrange(len(anything))]
        if pick < 92:
            return "close", "x" * (self.t.max_message + 100)
        if pick < 96:
            return "raw", masked_frame(0x1, b'\xff\xfe{"type":"ping"}')
        return "raw", masked_frame(0x2, bytes(g.randrange(256) for _ in range(16)))

    async def garbage(self, conn, p):
        g = random.Random(int(p[3] * 2 ** 32))
        sent = []
        nulls = conn.null_replies
        for _ in range(1 + int(p[0] * 3)):
            rid = next(Conn._ids)
            kind, data = self.garbage_items(g, rid)
            self.note(f"{kind}:{short(data, 30) if isinstance(data, str) else data[:8]!r}")
            if not conn.open:
                break
            if kind == "raw":
                conn.write_raw(data)
                continue
            if kind == "id":
                sent.append((rid, conn.expect_reply(rid)))
            try:
                await conn.send_text(data)
            except Closed:
                break
            if kind == "close":
                try:
                    await asyncio.wait_for(conn.closed.wait(), 10)
                except asyncio.TimeoutError:
                    raise Violation(f"I1: a message over max_message_bytes did not close "
                                    f"{conn.label}") from None
                self.note(f"closed:{conn.close_code}")
                return
        if not conn.open:
            return
        try:
            await conn.request("ping")
        except Closed:
            self.note(f"closed:{conn.close_code}")
            return
        missing = [rid for rid, fut in sent if not fut.done()]
        for rid, fut in sent:
            conn.pending.pop(rid, None)
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                r = fut.result()
                self.expect(r.get("type") in ("error", "ping.ok"),
                            f"I1: garbage got {short(r)}")
        self.expect(len(missing) <= conn.null_replies - nulls,
                    f"I1: {len(missing)} garbage requests with ids got no reply before a later "
                    f"ping's on {conn.label}")

    # -- checks ----------------------------------------------------------------- #

    def raise_violations(self):
        if self.violations:
            raise Violation(self.violations[0])

    def check_alive(self):
        if not self.t.alive():
            code = getattr(getattr(self.t, "srv", None), "proc", None)
            code = code.poll() if code is not None else None
            raise Violation(f"I1: the server is not running (exit status {code})")

    def scan_log(self):
        if not self.t.log_path or not os.path.exists(self.t.log_path):
            return
        with open(self.t.log_path, "rb") as f:
            f.seek(self.log_offset)
            data = f.read()
        self.log_offset += len(data)
        text = data.decode(errors="replace")
        if SANITIZER.search(text):
            lines = [ln for ln in text.splitlines() if SANITIZER.search(ln)]
            raise Violation(f"I1: sanitizer or GLib report in the server's output: {lines[:3]}")

    async def check_gone(self, only=None):
        """I2: sessions whose customer has been gone past the window have ended."""
        def overdue():
            now = time.time()
            out = []
            for s in (only or self.sessions.values()):
                g = s.gone_since()
                if s.ended is None and g is not None and now > g + self.window + SLACK_S:
                    out.append(s)
            return out

        def not_ended(cands):
            left = []
            for s in cands:
                row = self.db.session(s.id)
                if row is not None and row["ended_at"] is not None:
                    s.ended = row["end_reason"]
                else:
                    left.append(s)
            return left

        left = not_ended(overdue())
        if not left:
            return
        # Late, or never? The server's loop runs (settle), then a few more seconds.
        late = len(left)
        await self.settle()
        deadline = time.time() + LATE_S
        while left and time.time() < deadline:
            left = not_ended([s for s in left if s.gone_since() is not None])
            await asyncio.sleep(0.2)
        left = not_ended([s for s in left if s.gone_since() is not None])
        self.counts["late ends (I2 slack passed)"] += late - len(left)
        if left:
            s = left[0]
            raise Violation(
                f"I2: session {s.id} ({s.desk}) still open {time.time() - s.gone_since():.1f} s "
                f"after its customer's last connection went (window {self.window} s); "
                f"connections {[(c.label, c.close_code, c.by_us) for c in s.conns]}; "
                f"{len(left)} such sessions: {[x.id for x in left]}")

    def db_snapshot(self):
        now = wall_ms()
        day = now - now % 86400000
        open_rows = self.db.q(
            "SELECT s.id, s.desk, s.priority, s.answered_at IS NOT NULL, "
            "coalesce(a.username, '') FROM sessions s LEFT JOIN accounts a ON a.id = s.agent_id "
            "WHERE s.ended_at IS NULL ORDER BY s.id")
        today = self.db.q(
            "SELECT desk, count(*), count(ended_at), count(answered_at), count(rating) "
            "FROM sessions WHERE queued_at >= ? AND queued_at < ? GROUP BY desk ORDER BY desk",
            (day, day + 86400000))
        reasons = self.db.q(
            "SELECT end_reason, count(*) FROM sessions WHERE queued_at >= ? AND queued_at < ? "
            "AND end_reason IS NOT NULL GROUP BY 1 ORDER BY 1", (day, day + 86400000))
        return (day, tuple(open_rows), tuple(today), tuple(reasons))

    async def ping_agents(self):
        conns = [a.current for a in self.agents if a.connected()] + [self.ops[OPS[0]]]
        res = await asyncio.gather(*(c.request("ping") for c in conns), return_exceptions=True)
        return not any(isinstance(r, Exception) for r in res)

    async def live_stats(self, http):
        if http:
            status, body = await asyncio.to_thread(self.t.http_get, "/api/v1/stats/live",
                                                   self.ops_token)
            self.expect(status == 200, f"I7: GET /api/v1/stats/live -> {status}")
            return json.loads(body)
        r = await self.req(self.ops[OPS[0]], "stats.live")
        self.expect_ok(r, "stats.live", "I7: stats.live")
        return r["stats"]

    async def check_cut(self, http=False):
        for _ in range(6):
            if not await self.ping_agents():
                continue
            c0 = self.state_changes
            d1 = self.db_snapshot()
            stats = await self.live_stats(http)
            d2 = self.db_snapshot()
            if not await self.ping_agents():
                continue
            if d1 != d2 or c0 != self.state_changes or stats.get("day_start") != d1[0]:
                await asyncio.sleep(0.05)
                continue
            self.compare_db(stats, d1, "HTTP" if http else "stats.live")
            self.compare_agents(stats)
            self.counts["cuts"] += 1
            return
        self.cuts_skipped += 1

    def compare_db(self, stats, snap, via):
        _, open_rows, today, reasons = snap
        desks = {d["desk"]: d for d in stats.get("desks", [])}
        for desk in DESKS:
            waiting = [r for r in open_rows if r[1] == desk and not r[3]]
            got = desks.get(desk, {})
            self.expect(got.get("waiting") == len(waiting) and
                        got.get("invites_waiting") == sum(1 for r in waiting if r[2] > 0),
                        f"I7: {via} says {desk} has {got.get('waiting')} waiting "
                        f"({got.get('invites_waiting')} invites); the database has open "
                        f"unanswered sessions {[(r[0], r[2]) for r in waiting]}")
        calls = {c["session_id"]: c.get("agent") for c in stats.get("active_calls", [])}
        db_calls = {r[0]: r[4] for r in open_rows if r[3]}
        self.expect(calls == db_calls, f"I7: {via} active_calls {calls}; the database's open "
                    f"answered sessions {db_calls}")
        by_desk = {r[0]: r[1:] for r in today}
        tot = [sum(r[i] for r in by_desk.values()) for i in range(4)]
        t = stats.get("today") or {}
        want = {"sessions": tot[0], "ended": tot[1], "answered": tot[2], "rated": tot[3]}
        self.expect(all(t.get(k) == v for k, v in want.items()),
                    f"I7: {via} today {t}; the database {want}")
        br = dict(reasons)
        self.expect(all(t.get("by_reason", {}).get(k, 0) == br.get(k, 0) for k in END_REASONS),
                    f"I7: {via} by_reason {t.get('by_reason')}; the database {br}")
        for desk in DESKS:
            dt = desks.get(desk, {}).get("today") or {}
            row = by_desk.get(desk, (0, 0, 0, 0))
            want = {"sessions": row[0], "ended": row[1], "answered": row[2], "rated": row[3]}
            self.expect(all(dt.get(k) == v for k, v in want.items()),
                        f"I7: {via} {desk} today {dt}; the database {want}")

    def agent_buckets(self, agents):
        now = time.time()
        conn, unsure, disc = collections.Counter(), 0, 0
        for a in agents:
            if a.connected():
                conn[a.state] += 1
            elif a.logged_in and a.current is not None:
                age = now - a.current.closed_at
                # dropped during a call, it stays (offline) past the window, owed the outcome
                kept = a.state == "on_call"
                if age < NOTICE_S or self.window - 0.5 <= age <= self.window + SLACK_S or \
                        (kept and age > self.window):
                    unsure += 1
                elif age < self.window - 0.5:
                    disc += 1
        return conn, unsure, disc

    def compare_agents(self, stats):
        groups = [("all", self.agents, stats.get("agents") or {})]
        desks = {d["desk"]: d for d in stats.get("desks", [])}
        for desk in DESKS:
            groups.append((desk, [a for a in self.agents if desk in a.skills],
                           desks.get(desk, {}).get("agents") or {}))
        for name, agents, got in groups:
            conn, unsure, disc = self.agent_buckets(agents)
            bad = []
            for st in AGENT_STATES:
                extra = unsure if st in ("available", "ringing", "not_ready") else unsure + disc
                if not conn[st] <= got.get(st, 0) <= conn[st] + extra:
                    bad.append(st)
            total = sum(got.get(st, 0) for st in AGENT_STATES)
            n = sum(conn.values())
            if not n + disc <= total <= n + disc + unsure:
                bad.append("total")
            self.expect(not bad, f"I8: agents ({name}) by state per the stats {got}; ours: "
                        f"connected {dict(conn)}, dropped within the window {disc}, unsure "
                        f"{unsure}; off: {bad}; "
                        f"{[(a.username, a.state, a.connected()) for a in agents]}")

    def check_rows(self):
        """I6 over every session and invite."""
        for r in self.db.all_sessions():
            sid, reason, ended = r["id"], r["end_reason"], r["ended_at"]
            answered = r["answered_at"]
            problems = []
            if (reason is None) != (ended is None) or (reason and reason not in END_REASONS):
                problems.append("end_reason/ended_at")
            if reason in ("completed", "customer_gone", "agent_gone") and answered is None:
                problems.append(f"{reason} without an answer")
            if reason in ("abandoned", "missed") and answered is not None:
                problems.append(f"{reason} after an answer")
            if answered is not None and r["agent_id"] is None:
                problems.append("answered without agent")
            times = [r["queued_at"], r["offered_at"], answered, ended]
            times = [x for x in times if x is not None]
            if times != sorted(times):
                problems.append("times out of order")
            if r["rating"] is not None and ended is None:
                problems.append("rated before the end")
            if r["outcome"] and answered is None:
                problems.append("outcome without an answer")
            if (r["priority"] > 0) != (r["invite_id"] is not None):
                problems.append("priority/invite")
            self.expect(not problems, f"I6: session {sid}: {problems}: {r}")
        rows = self.db.q("SELECT invite_id, count(*) FROM sessions WHERE invite_id IS NOT NULL "
                         "GROUP BY 1 HAVING count(*) > 1")
        self.expect(not rows, f"I6: invites used by more than one session: {rows}")
        rows = self.db.q("SELECT s.id FROM sessions s JOIN invites i ON i.id = s.invite_id "
                         "WHERE i.redeemed_at IS NULL")
        self.expect(not rows, f"I6: sessions whose invite is not redeemed: {rows}")

    async def check_step(self):
        self.check_alive()
        self.scan_log()
        self.raise_violations()
        await self.check_gone()
        if self.step_no % 8 == 0:
            await self.check_cut(http=self.step_no % 16 == 0)
        if self.step_no % 25 == 0:
            self.check_rows()
        self.raise_violations()

    # -- the run ------------------------------------------------------------------ #

    def actor(self, kind, n):
        if kind.startswith("c_"):
            return self.customers[n % len(self.customers)], f"c{n % len(self.customers)}"
        if kind.startswith("a_"):
            # acting on a ring or a call needs the agent who has one: among those, if any
            want = PREFERRED_STATE.get(kind)
            pool = [a for a in self.agents if a.connected() and a.state == want] or self.agents
            a = pool[n % len(pool)]
            return a, f"a{a.idx}"
        return None, ""

    async def setup(self):
        r = await self.ops_login(OPS[0])
        self.ops_token = r.get("auth_token")
        await self.ops_login(OPS[1])
        for a in self.agents:
            a.account_id = self.account_id(a.username)

    async def one_step(self):
        self.step_no += 1
        kind = self.rng.choices(ACTION_NAMES, ACTION_WEIGHTS)[0]
        n = self.rng.randrange(1 << 20)
        p = [self.rng.random() for _ in range(4)]
        who, label = self.actor(kind, n)
        self.history.append(f"#{self.step_no} {time.strftime('%H:%M:%S')} {kind} {label} "
                            f"p=({', '.join(f'{x:.2f}' for x in p)})")
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(getattr(self, kind)(who, p), STEP_TIMEOUT_S)
        except Closed as e:
            self.note(f"(closed: {e})")
        except asyncio.TimeoutError:
            self.check_alive()
            raise Violation(f"I1: step {kind} did not finish within {STEP_TIMEOUT_S} s") from None
        except (OSError, websockets.exceptions.InvalidHandshake) as e:
            self.check_alive()
            raise Violation(f"I1: {kind}: {type(e).__name__}: {e}") from None
        except Violation:
            self.check_alive()
            self.scan_log()
            raise
        self.spent[kind] += time.monotonic() - t0
        t0 = time.monotonic()
        await self.check_step()
        self.spent["(checks)"] += time.monotonic() - t0

    async def wind_down(self):
        self.history.append(f"-- {time.strftime('%H:%M:%S')} wind down: every customer and "
                            f"agent connection goes")
        keep = self.ops[OPS[0]]
        for i, c in enumerate([c for c in self.conns if c.open and c is not keep]):
            if i % 2:
                c.abort()
            else:
                await c.close()
        deadline = time.time() + self.window + SLACK_S + 10
        while time.time() < deadline:
            self.check_alive()
            if not self.db.q("SELECT id FROM sessions WHERE ended_at IS NULL"):
                break
            await asyncio.sleep(0.3)
        await self.check_gone()
        left = self.db.q("SELECT id, desk, answered_at, agent_id FROM sessions "
                         "WHERE ended_at IS NULL")
        self.expect(not left, f"I2: sessions still open after every connection went: {left}")
        deadline = time.time() + self.window + SLACK_S + 10
        owed = sum(1 for a in self.agents if a.logged_in and a.state == "on_call")
        while time.time() < deadline:
            stats = await self.live_stats(False)
            got = stats.get("agents") or {}
            if sum(got.values()) - got.get("offline", 0) == 0 and got.get("offline", 0) <= owed:
                break
            await asyncio.sleep(0.3)
        got = {k: v for k, v in (stats.get("agents") or {}).items() if v}
        owed = sum(1 for a in self.agents if a.logged_in and a.state == "on_call")
        self.expect(not [k for k in got if k != "offline"] and got.get("offline", 0) <= owed,
                    f"I8: agents left {self.window + SLACK_S + 10:.0f} s after every "
                    f"connection went: {got} (agents dropped during a call, kept offline for "
                    f"their outcome: at most {owed})")
        await self.check_cut()
        self.check_rows()
        self.raise_violations()
        await keep.close()

    async def run(self):
        t_end = time.time() + self.duration_s
        await self.setup()
        while time.time() < t_end and (self.max_steps is None or self.step_no < self.max_steps):
            await self.one_step()
        await self.wind_down()

    async def finish(self):
        for c in self.conns:
            await c.finish()

    def summary(self):
        top = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        slow = ", ".join(f"{k} {v:.0f} s" for k, v in self.spent.most_common(5))
        return (f"{self.step_no} steps, {len(self.sessions)} sessions, {len(self.invites)} "
                f"invites, cuts skipped {self.cuts_skipped}; {top}; time: {slow}")


def log_tail(path, lines=60):
    """The server output's last lines, and a sanitizer report whole if there is one."""
    if not path or not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        text = f.read().splitlines()
    for i, ln in enumerate(text):
        if "ERROR: AddressSanitizer" in ln or "runtime error:" in ln or \
                "ERROR: LeakSanitizer" in ln:
            return text[max(0, i - 15):i + 80]
    return text[-lines:]


def run_once(seed, duration_s, target=None, keep=False, out=tchelper.log, max_steps=None):
    """One chaos run against target (default: a server of our own), for duration_s seconds
    or max_steps steps, whichever ends first. Returns (ok, what failed)."""
    target = target or OwnTarget()
    own = isinstance(target, OwnTarget)
    chaos = Chaos(target, seed, duration_s, out)
    chaos.max_steps = max_steps
    replay = f"tools/chaos.py --seed {seed} --duration {duration_s:g}"
    out(f"chaos: seed {seed}, {duration_s:g} s (replay: {replay})")
    ok, why = True, ""
    try:
        target.start()
        asyncio.run(chaos_main(chaos))
        if own:
            code = target.stop()
            chaos.scan_log()
            chaos.expect(code == 0, f"I1: SIGTERM -> exit status {code} (0 expected)")
            left = chaos.db.q("SELECT id FROM sessions WHERE ended_at IS NULL")
            chaos.expect(not left, f"I2: sessions open after the server stopped: {left}")
            chaos.check_rows()
    except Violation as e:
        ok, why = False, str(e)
    except Exception as e:  # noqa: BLE001 - a driver bug is a failure too, with its trace
        ok, why = False, f"driver error {type(e).__name__}: {e}\n{traceback.format_exc()}"
    finally:
        chaos.db.close()
    if ok:
        out(f"chaos: PASS seed {seed}: {chaos.summary()}")
    else:
        out(f"chaos: FAIL seed {seed} at step {chaos.step_no}: {why}")
        out(f"chaos: replay with: {replay} (add --steps {chaos.step_no} to stop there)")
        out("chaos: the last actions:")
        for h in chaos.history:
            out(f"   {h}")
        out(f"chaos: {chaos.summary()}")
        out(f"chaos: server output ({target.log_path}):")
        for ln in log_tail(target.log_path):
            out(f"   | {ln}")
    if own:
        target.stop()
        target.cleanup(keep=keep or (not ok and bool(os.environ.get("TC_KEEP_TMP"))))
    return ok, why


async def chaos_main(chaos):
    try:
        await chaos.run()
    finally:
        await chaos.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="default: a new random seed")
    ap.add_argument("--duration", type=float, default=60, help="seconds of chaos (then the "
                    "wind-down: about the resume window more)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    ap.add_argument("--url", help="wss://HOST:PORT/ws of a running server (needs --config)")
    ap.add_argument("--config", help="that server's config file")
    ap.add_argument("--log", help="that server's output, scanned for sanitizer reports")
    ap.add_argument("--binary", help="telecounter to start (default: TC_BINARY or build/)")
    ap.add_argument("--admin", help="telecounter-admin (default: TC_ADMIN or build/)")
    ap.add_argument("--keep", action="store_true", help="keep the server's temp dir")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    if args.url:
        if not args.config:
            ap.error("--url needs --config")
        target = UrlTarget(args.url, args.config, args.log, args.admin)
    else:
        target = OwnTarget(args.binary, args.admin)
    ok, _ = run_once(seed, args.duration, target, keep=args.keep, max_steps=args.steps)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
