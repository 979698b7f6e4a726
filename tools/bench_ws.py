#!/usr/bin/python3
"""bench_ws: a WebSocket signaling benchmark for telecounter (not a test; prints figures).

Drives N concurrent customers (default 2000) and M agents (default 50) through whole
lifecycles without media (with --media-offers both sides also send SDP offers, so that
the server sets up its media legs; still no media flows), against a server it starts
itself on 127.0.0.1 (temp dir, throwaway certificate, bench accounts; stopped by its PID
and cleaned up at the end), or against --url of a running one on loopback (then the
agent accounts PREFIX001.. must exist with --password, and --pid gives RSS and CPU).

Phases and figures:
  connect   N customers open WSS connections and hold them (TLS + upgrade time)
  join      all join one desk: latency of customer.join -> customer.join.ok
  fan-out   K probe customers at the head of the queue leave one at a time: latency from
            the leave to each queued customer's queue.update (per delivery, and per probe
            the time to the last delivery)
  churn     the agents serve for --duration s: ring -> agent.accept -> hangup ->
            agent.outcome; each customer rates, closes, and a new customer connects and
            joins in its place. Figures: accept -> session.answered at the customer, join
            latency under load, lifecycles completed per second, server CPU, errors.
  memory    server VmRSS / VmHWM from /proc/PID/status

Clients are plain asyncio (no uvloop). Customers are spread over --procs processes
(multiprocessing) because one Python process cannot drive thousands of TLS connections
and their fan-out fast enough; the agents and probes run in the main process. On a small
machine the clients share the CPU with the server: the CPU figures show who was busy.

Traffic goes only to 127.0.0.1 (--url is refused unless it is loopback). Every phase is
bounded in time; the whole run stops by itself.
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

import argparse
import asyncio
import ipaddress
import json
import multiprocessing
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import websockets.exceptions

PASSWORD = "bench password 1"
DESK = "broadband"
SDP = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtcp-mux\r\n"
       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n"
       "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=rtpmap:111 opus/48000/2\r\n")


def now():
    """Wall-clock seconds: comparable across the benchmark's processes."""
    return time.time()


_SSL_CTX = None


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


# --------------------------------------------------------------------------- #
# A minimal client connection (shared by customers and agents)
# --------------------------------------------------------------------------- #

class Conn:
    """One WSS connection: request() with fresh ids; events go to on_event(raw, msg)."""

    def __init__(self, ws, on_event):
        self.ws = ws
        self.on_event = on_event
        self.pending = {}
        self.next_id = 1
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url, origin, on_event):
        ws = await websockets.connect(url, ssl=insecure_ssl(), origin=origin, compression=None,
                                      ping_interval=None, open_timeout=30, close_timeout=1,
                                      max_size=1 << 20)
        return cls(ws, on_event)

    async def _read(self):
        try:
            async for raw in self.ws:
                head = raw[:48]
                if '"queue.update"' in head:          # the hot path: no JSON parse
                    self.on_event(raw, None)
                    continue
                msg = json.loads(raw)
                rid = msg.get("id")
                if rid is not None and rid in self.pending:
                    fut = self.pending.pop(rid)
                    if not fut.done():
                        fut.set_result(msg)
                else:
                    self.on_event(raw, msg)
        except (websockets.exceptions.ConnectionClosed, OSError, ValueError):
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("closed"))
                    fut.exception()  # retrieved: a waiter may have gone (timeout)
            self.pending.clear()

    async def request(self, type_, timeout=30.0, **fields):
        rid = self.next_id
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.ws.send(json.dumps({"type": type_, "id": rid, **fields}))
        return await asyncio.wait_for(fut, timeout)

    async def send(self, type_, **fields):
        """Fire and forget (the reply is dropped by the reader)."""
        rid = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps({"type": type_, "id": rid, **fields}))

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 2)
        except Exception:  # noqa: BLE001
            pass
        self.reader.cancel()


# --------------------------------------------------------------------------- #
# Customer worker process
# --------------------------------------------------------------------------- #

class CustomerWorker:
    """A process's share of the customers; obeys commands from the main process."""

    def __init__(self, url, origin, count, offers):
        self.url, self.origin, self.count, self.offers = url, origin, count, offers
        self.customers = []          # list of Customer
        self.update_times = []       # per customer slot: [recv time, ...]
        self.answered = {}           # session_id -> recv time of session.answered
        self.join_lat = []           # seconds
        self.connect_lat = []
        self.churn_join_lat = []
        self.lifecycles = 0
        self.errors = {}
        self.churning = False
        self.tasks = set()

    def error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    async def new_customer(self, slot):
        t0 = now()
        c = Customer(self, slot)
        c.conn = await Conn.open(self.url, self.origin, c.on_event)
        return c, now() - t0

    async def connect_all(self):
        sem = asyncio.Semaphore(64)
        self.update_times = [[] for _ in range(self.count)]

        async def one(slot):
            async with sem:
                try:
                    c, lat = await self.new_customer(slot)
                    self.connect_lat.append(lat)
                    return c
                except Exception as e:  # noqa: BLE001
                    self.error(f"connect: {type(e).__name__}")
                    return None
        cs = await asyncio.gather(*[one(i) for i in range(self.count)])
        self.customers = [c for c in cs if c is not None]

    async def join_all(self, lat_list):
        sem = asyncio.Semaphore(128)

        async def one(c):
            async with sem:
                await c.join(lat_list)
        await asyncio.gather(*[one(c) for c in self.customers])

    def replace(self, old):
        """After a lifecycle: the customer goes, a new one takes the slot and joins."""
        async def go():
            await old.conn.close()
            if not self.churning:
                return
            try:
                c, _ = await self.new_customer(old.slot)
                self.customers[self.customers.index(old)] = c
                await c.join(self.churn_join_lat)
            except Exception as e:  # noqa: BLE001
                self.error(f"rejoin: {type(e).__name__}")
        t = asyncio.create_task(go())
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def serve(self, conn):
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            op = cmd[0]
            if op == "connect":
                await self.connect_all()
                conn.send(("connected", len(self.customers), self.connect_lat, self.errors))
            elif op == "join":
                await self.join_all(self.join_lat)
                conn.send(("joined", self.join_lat, self.errors))
            elif op == "updates":
                conn.send(("updates", self.update_times))
                self.update_times = [[] for _ in range(self.count)]
            elif op == "churn":
                self.churning = True
                self.lifecycles = 0
                cpu0 = os.times()
                await asyncio.sleep(max(0.0, cmd[1] - now()))
                self.churning = False
                cpu1 = os.times()
                conn.send(("churned", self.lifecycles, self.answered, self.churn_join_lat,
                           self.errors, (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)))
            elif op == "stop":
                await asyncio.gather(*[c.conn.close() for c in self.customers],
                                     return_exceptions=True)
                conn.send(("stopped",))
                return


class Customer:
    def __init__(self, worker, slot):
        self.w = worker
        self.slot = slot
        self.conn = None
        self.session_id = None

    async def join(self, lat_list):
        t0 = now()
        try:
            r = await self.conn.request("customer.join", desk=DESK)
        except Exception as e:  # noqa: BLE001
            self.w.error(f"join: {type(e).__name__}")
            return
        if r.get("type") != "customer.join.ok":
            self.w.error(f"join: {r.get('code')}")
            return
        lat_list.append(now() - t0)
        self.session_id = r["session_id"]
        if self.w.offers:
            await self.conn.send("offer", sdp=SDP)

    def on_event(self, raw, msg):
        if msg is None:                      # queue.update
            self.w.update_times[self.slot].append(now())
            return
        t = msg.get("type")
        if t == "session.answered":
            self.w.answered[msg.get("session_id")] = now()
        elif t == "session.ended":
            task = asyncio.ensure_future(self.finish())
            self.w.tasks.add(task)
            task.add_done_callback(self.w.tasks.discard)
        elif t == "error":
            self.w.error(f"event error {msg.get('code')}")

    async def finish(self):
        try:
            r = await self.conn.request("customer.rate", rating=5)
            if r.get("type") == "customer.rate.ok":
                if self.w.churning:
                    self.w.lifecycles += 1
            else:
                self.w.error(f"rate: {r.get('code')}")
        except Exception as e:  # noqa: BLE001
            self.w.error(f"rate: {type(e).__name__}")
        self.w.replace(self)


def worker_main(conn, url, origin, count, offers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    w = CustomerWorker(url, origin, count, offers)
    asyncio.run(w.serve(conn))


# --------------------------------------------------------------------------- #
# Agents (main process)
# --------------------------------------------------------------------------- #

class Agent:
    """Logs in, then serves: ring -> accept -> answer -> hangup -> outcome, while serving."""

    def __init__(self, bench, username):
        self.b = bench
        self.username = username
        self.conn = None
        self.serving = False
        self.accept_sent = {}    # session_id -> time agent.accept was sent
        self.done = 0
        self.queue = asyncio.Queue()
        self.task = None

    async def login(self):
        self.conn = await Conn.open(self.b.url, self.b.origin, self.on_event)
        r = await self.conn.request("login", timeout=60, username=self.username,
                                    password=self.b.password)
        if r.get("type") != "login.ok":
            raise RuntimeError(f"login {self.username}: {r}")

    def on_event(self, raw, msg):
        if msg is not None and msg.get("type") == "ring":
            self.queue.put_nowait(msg["session_id"])

    async def serve(self):
        self.serving = True
        await self.conn.request("agent.state", state="available")
        while self.serving:
            try:
                sid = await asyncio.wait_for(self.queue.get(), 0.5)
            except asyncio.TimeoutError:
                continue
            try:
                self.accept_sent[sid] = now()
                r = await self.conn.request("agent.accept", session_id=sid)
                if r.get("type") != "agent.accept.ok":
                    self.b.error(f"accept: {r.get('code')}")
                    continue
                if self.b.args.media_offers:
                    r = await self.conn.request("offer", sdp=SDP)
                    if r.get("type") != "offer.ok":
                        self.b.error(f"agent offer: {r.get('code')}")
                await self.conn.request("hangup")
                r = await self.conn.request("agent.outcome", session_id=sid, code="resolved")
                if r.get("type") != "agent.outcome.ok":
                    self.b.error(f"outcome: {r.get('code')}")
                    await self.conn.request("agent.state", state="available")
                self.done += 1
            except Exception as e:  # noqa: BLE001
                self.b.error(f"agent: {type(e).__name__}")
        try:
            await self.conn.request("agent.state", state="not_ready", timeout=5)
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- #
# The server this benchmark starts (unless --url)
# --------------------------------------------------------------------------- #

class LocalServer:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="tc-bench-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = None
        self.url = f"wss://127.0.0.1:{self.port}/ws"
        self.origin = f"https://localhost:{self.port}"

    def setup(self, agents):
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.db = os.path.join(self.tmp, "bench.db")
        self.conf = os.path.join(self.tmp, "bench.conf")
        with open(self.conf, "w") as f:
            f.write(f"""[server]
address=127.0.0.1
port={self.port}
public_url=https://localhost:{self.port}
allowed_origins=https://127.0.0.1:{self.port},https://localhost:{self.port}
tls_cert={cert}
tls_key={key}
web_root={os.path.join(self.args.source_dir, 'web')}
[log]
level=warn
[store]
path={self.db}
[routing]
desks=id_check,broadband,urgent_sim
ring_timeout_s=30
after_call_work_s=1
resume_window_s=5
[limits]
connections_per_address=1000000
sessions_per_address=1000000
joins_per_minute=1000000
messages_per_s=10000
message_burst=100000
idle_timeout_s=3600
""")
        # Argon2id hashing is slow by design: make the accounts on two threads.
        def add(name):
            r = subprocess.run([self.args.admin, "--db", self.db, "add-account", name,
                                "--role", "agent", "--skills", DESK, "--password-stdin"],
                               input=PASSWORD + "\n", text=True, capture_output=True)
            if r.returncode != 0:
                raise RuntimeError(f"add-account {name}: {r.stderr.strip()}")
        names = [agent_name(self.args.agent_prefix, i) for i in range(agents)]
        add(names[0])  # creates the database alone first
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(add, names[1:]))

    def start(self):
        self.log = open(os.path.join(self.tmp, "server.log"), "w")
        self.proc = subprocess.Popen([self.args.binary, "--config", self.conf],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/readyz", timeout=1,
                                            context=insecure_ssl()) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server not ready within 15 s")

    def log_tail(self, n=15):
        try:
            with open(os.path.join(self.tmp, "server.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self, keep=False):
        self.stop()
        if keep:
            print(f"(kept {self.tmp})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def agent_name(prefix, i):
    return f"{prefix}{i + 1:03d}"


def proc_status(pid):
    """VmRSS and VmHWM of pid in KiB (None if unreadable)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


def proc_cpu(pid):
    """utime + stime of pid in seconds (None if unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# --------------------------------------------------------------------------- #
# The benchmark
# --------------------------------------------------------------------------- #

class Bench:
    def __init__(self, args, url, origin, pid):
        self.args = args
        self.url, self.origin, self.pid = url, origin, pid
        self.password = args.password
        self.errors = {}
        self.rows = []
        self.notes = []
        self.peak_rss = 0

    def error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    def row(self, name, values_s):
        """A latency row (values in seconds)."""
        self.rows.append((name, values_s))

    def sample_rss(self):
        if self.pid:
            st = proc_status(self.pid)
            if st:
                self.peak_rss = max(self.peak_rss, st.get("VmRSS", 0))

    def start_workers(self):
        """Forks the customer processes (before the main event loop exists)."""
        a = self.args
        ctx = multiprocessing.get_context("fork")
        shares = [a.customers // a.procs + (1 if i < a.customers % a.procs else 0)
                  for i in range(a.procs)]
        self.pipes, self.procs = [], []
        for share in shares:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker_main,
                            args=(child, self.url, self.origin, share, a.media_offers),
                            daemon=True)
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)

    def stop_workers(self):
        for p in self.procs:
            if p.is_alive():
                p.terminate()
            p.join(5)

    async def run(self):
        a = self.args
        pipes = self.pipes
        loop = asyncio.get_running_loop()

        async def ask_all(cmd, timeout):
            for p in pipes:
                p.send(cmd)
            return await asyncio.wait_for(asyncio.gather(
                *[loop.run_in_executor(None, p.recv) for p in pipes]), timeout)

        agents = [Agent(self, agent_name(a.agent_prefix, i)) for i in range(a.agents)]
        try:
            # agents first (logged in, not_ready), so wait estimates have agents
            t0 = now()
            for i in range(0, len(agents), 10):
                await asyncio.gather(*[ag.login() for ag in agents[i:i + 10]])
            self.notes.append(f"{a.agents} agents logged in in {now() - t0:.1f} s "
                              f"(Argon2id verification)")

            # probes at the head of the queue
            probes = []
            for _ in range(a.probes):
                c = await Conn.open(self.url, self.origin, lambda raw, msg: None)
                r = await c.request("customer.join", desk=DESK)
                if r.get("type") != "customer.join.ok":
                    raise RuntimeError(f"probe join: {r}")
                probes.append(c)

            t0 = now()
            res = await ask_all(("connect",), a.phase_timeout)
            took = now() - t0
            held = sum(r[1] for r in res)
            self.row("connect (TLS + WS upgrade)", [x for r in res for x in r[2]])
            self.notes.append(f"{held} of {a.customers} customer connections open in "
                              f"{took:.1f} s ({held / took:.0f}/s), held")
            self.sample_rss()

            t0 = now()
            res = await ask_all(("join",), a.phase_timeout)
            took = now() - t0
            joins = [x for r in res for x in r[1]]
            self.row("join -> customer.join.ok", joins)
            self.notes.append(f"{len(joins)} joins in {took:.1f} s ({len(joins) / took:.0f}/s)")
            self.sample_rss()
            await asyncio.sleep(1.0)
            await ask_all(("updates",), 30)  # forget the updates of the join phase

            # fan-out probes: the head leaves; everyone behind moves up
            leave_times = []
            for c in probes:
                leave_times.append(now())
                await c.request("customer.leave")
                await asyncio.sleep(a.probe_gap)
                self.sample_rss()
            res = await ask_all(("updates",), 60)
            per_delivery, per_probe_last, missing = [], [], 0
            slots = [times for r in res for times in r[1]]
            for i, t_leave in enumerate(leave_times):
                t_next = leave_times[i + 1] if i + 1 < len(leave_times) else float("inf")
                last = 0.0
                for times in slots:
                    hit = next((t for t in times if t_leave <= t < t_next), None)
                    if hit is None:
                        missing += 1
                        continue
                    per_delivery.append(hit - t_leave)
                    last = max(last, hit - t_leave)
                per_probe_last.append(last)
            self.row("fan-out: leave -> each queue.update", per_delivery)
            self.row(f"fan-out: leave -> last of ~{len(slots)} updates", per_probe_last)
            if missing:
                self.notes.append(f"fan-out: {missing} expected queue.update missing within "
                                  f"{a.probe_gap} s of their probe")
            for c in probes:
                await c.close()

            # churn: agents serve for the duration; customers are replaced as they finish
            cpu0, t_start = proc_cpu(self.pid) if self.pid else None, now()
            until = t_start + a.duration
            for p in pipes:
                p.send(("churn", until))
            serving = [asyncio.create_task(ag.serve()) for ag in agents]
            while now() < until:
                await asyncio.sleep(min(1.0, max(0.0, until - now())))
                self.sample_rss()
            for ag in agents:
                ag.serving = False
            res = await asyncio.wait_for(asyncio.gather(
                *[loop.run_in_executor(None, p.recv) for p in pipes]), a.phase_timeout)
            elapsed = now() - t_start
            cpu1 = proc_cpu(self.pid) if self.pid else None
            await asyncio.wait_for(asyncio.gather(*serving, return_exceptions=True), 30)
            lifecycles = sum(r[1] for r in res)
            answered = {}
            for r in res:
                answered.update(r[2])
            accept_sent = {}
            for ag in agents:
                accept_sent.update(ag.accept_sent)
            paired = [answered[s] - accept_sent[s] for s in accept_sent if s in answered]
            self.row("accept -> session.answered", paired)
            self.row("join under churn (new customers)", [x for r in res for x in r[3]])
            for r in res:
                for k, v in r[4].items():
                    self.errors[k] = self.errors.get(k, 0) + v
            client_cpu = sum(r[5] for r in res)
            self.lifecycles = (lifecycles, elapsed)
            self.cpu = (None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / elapsed,
                        client_cpu / elapsed)
            await ask_all(("stop",), 60)
        finally:
            await asyncio.gather(*[ag.conn.close() for ag in agents if ag.conn],
                                 return_exceptions=True)

    def report(self):
        a = self.args
        print()
        print("telecounter WebSocket benchmark")
        print(f"  target: {self.url}  (server pid {self.pid or 'unknown'})")
        print(f"  media offers: {'yes (a media leg per customer and agent)' if a.media_offers else 'no (signaling only)'}")
        print(f"  clients: {a.customers} customers in {a.procs} processes + {a.agents} agents "
              f"and {a.probes} probes in the main process; plain asyncio (no uvloop); "
              f"{os.cpu_count()} CPUs shared with the server")
        print()
        print(f"  {'measure':<44}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for name, vals in self.rows:
            if vals:
                vs = sorted(vals)
                p50 = statistics.median(vs) * 1000
                p99 = vs[min(len(vs) - 1, int(round(0.99 * (len(vs) - 1))))] * 1000
                print(f"  {name:<44}{len(vs):>8}{p50:>10.1f}{p99:>10.1f}{vs[-1] * 1000:>10.1f}")
            else:
                print(f"  {name:<44}{0:>8}{'-':>10}{'-':>10}{'-':>10}")
        print()
        if hasattr(self, "lifecycles"):
            n, el = self.lifecycles
            print(f"  lifecycles completed (join .. rated): {n} in {el:.1f} s = {n / el:.1f}/s")
            srv_cpu, cli_cpu = self.cpu
            s = f"{srv_cpu * 100:.0f} %" if srv_cpu is not None else "unknown"
            print(f"  CPU during churn: server {s} of one core; customer processes "
                  f"{cli_cpu * 100:.0f} %")
        if self.pid:
            st = proc_status(self.pid) or {}
            print(f"  server memory: VmRSS {st.get('VmRSS', 0) / 1024:.1f} MiB now, "
                  f"peak sampled {self.peak_rss / 1024:.1f} MiB, "
                  f"VmHWM {st.get('VmHWM', 0) / 1024:.1f} MiB")
        for n in self.notes:
            print(f"  note: {n}")
        if self.errors:
            print("  errors: " + ", ".join(f"{k} x{v}" for k, v in sorted(self.errors.items())))
        else:
            print("  errors: none")


def loopback_only(url):
    host = urllib.parse.urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.environ.get("TC_SOURCE_DIR", os.path.dirname(here))
    build = os.environ.get("TC_BUILD_DIR", os.path.join(source, "build"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", "-n", type=int, default=2000)
    p.add_argument("--agents", "-m", type=int, default=50)
    p.add_argument("--duration", type=float, default=30.0, help="churn phase, s (max 300)")
    p.add_argument("--procs", type=int, default=0,
                   help="customer processes (default: 1 per 1000 customers, at least 1)")
    p.add_argument("--probes", type=int, default=10, help="fan-out probes")
    p.add_argument("--probe-gap", type=float, default=2.0, help="s between fan-out probes")
    p.add_argument("--phase-timeout", type=float, default=180.0)
    p.add_argument("--media-offers", action="store_true",
                   help="customers and agents also send SDP offers, so the server sets up a "
                        "media leg (ICE gathering, DTLS) per connection; no media flows")
    p.add_argument("--url", help="a running server, wss://127.0.0.1:PORT/ws (loopback only)")
    p.add_argument("--origin", help="Origin header (default: https://localhost:PORT)")
    p.add_argument("--pid", type=int, help="the running server's PID, for RSS and CPU")
    p.add_argument("--agent-prefix", default="bench")
    p.add_argument("--password", default=PASSWORD)
    p.add_argument("--binary", default=os.environ.get("TC_BINARY",
                                                      os.path.join(build, "telecounter")))
    p.add_argument("--admin", default=os.environ.get("TC_ADMIN",
                                                     os.path.join(build, "telecounter-admin")))
    p.add_argument("--source-dir", default=source)
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = p.parse_args()
    args.duration = max(1.0, min(args.duration, 300.0))
    args.procs = args.procs or max(1, (args.customers + 999) // 1000)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.customers + args.agents + 1000
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))

    server = None
    try:
        if args.url:
            if not loopback_only(args.url):
                sys.exit("bench_ws: --url must point at a loopback address")
            port = urllib.parse.urlparse(args.url).port or 443
            url, origin, pid = args.url, args.origin or f"https://localhost:{port}", args.pid
        else:
            server = LocalServer(args)
            print(f"bench_ws: setting up a server in {server.tmp} ({args.agents} accounts)...",
                  flush=True)
            server.setup(args.agents)
            server.start()
            url, origin, pid = server.url, server.origin, server.proc.pid
        bench = Bench(args, url, origin, pid)
        print(f"bench_ws: {args.customers} customers, {args.agents} agents, churn "
              f"{args.duration:.0f} s...", flush=True)
        bench.start_workers()
        try:
            asyncio.run(bench.run())
        finally:
            bench.stop_workers()
            bench.report()
        if server and server.proc.poll() is not None:
            print(f"bench_ws: the server died ({server.proc.returncode}):\n{server.log_tail()}")
            return 1
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if server:
            server.cleanup(args.keep)


if __name__ == "__main__":
    sys.exit(main())
