#!/usr/bin/python3
"""Integration: the server's batched WebSocket output (src/signal/send_batch.c).

A queue fan-out reaches every waiting customer, with io_uring and without (the
fan-out benchmark, tc-bench_fanout, run small as its own smoke test); a client that
stops reading while the server keeps answering gets every reply, whole and in order,
once it reads again (the output the kernel could not take waits in the send batch and
goes out from lws's writeable callback).
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import Suite  # noqa: E402

S = Suite("fanout")
BENCH = os.path.join(os.environ.get("TC_BUILD_DIR", ""), "tc-bench_fanout")
CUSTOMERS = 120
PROBES = 4
LIMITS = {"connections_per_address": "500", "messages_per_s": "10000",
          "message_burst": "100000", "sessions_per_address": "100000",
          "joins_per_minute": "100000"}


def sends_line(srv):
    """The server's closing count of batched sends, as ints (sends, calls, left, failed)."""
    with open(srv.log_path, errors="replace") as f:
        text = f.read()
    m = re.search(r"(\d+) batched sends in (\d+) system calls; (\d+) left part unsent, "
                  r"(\d+) failed", text)
    return tuple(int(g) for g in m.groups()) if m else None


def run_bench(srv, desks):
    r = subprocess.run([BENCH, "--url", srv.ws_url, "--customers", str(CUSTOMERS),
                        "--probes", str(PROBES), "--desks", desks],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


async def fanout_reaches_everyone(io_uring):
    srv = S.server(name=f"fanout-{io_uring}",
                   config={"server": {"io_uring": io_uring}, "limits": LIMITS})
    srv.start()
    code, out = await asyncio.to_thread(run_bench, srv, "broadband")
    want = PROBES * (CUSTOMERS - 1) - PROBES * (PROBES - 1) // 2
    m = re.search(r"each queue.update .*\((\d+) updates\)", out)
    S.check(code == 0 and f"probes                   {PROBES} of {PROBES}" in out,
            "the benchmark ran every probe", out[-800:])
    S.check(m and int(m.group(1)) == want,
            f"every waiting customer heard every move of the queue ({want} updates)",
            m.group(0) if m else out[-800:])
    S.check(srv.stop() == 0, "the server stops cleanly")
    counts = sends_line(srv)
    S.check(counts is not None and counts[0] >= want and counts[3] == 0,
            "the updates went out as batched sends, none failed", counts)
    uses_ring = "output goes out with io_uring" in open(srv.log_path, errors="replace").read()
    if io_uring == "true" and not uses_ring:
        tchelper.log("NOTE: io_uring is unavailable here: the fallback (a send each) was tested")
    if counts and uses_ring:
        S.check(counts[1] * 16 < counts[0],
                "with io_uring, one system call carries many connections' sends", counts)
    elif counts:
        S.check(counts[1] == counts[0], "without io_uring, one system call per send", counts)


@S.test
async def fanout_with_io_uring():
    """A fan-out to 120 waiting customers reaches all of them; io_uring batches the sends."""
    await fanout_reaches_everyone("true")


@S.test
async def fanout_without_io_uring():
    """The same with server.io_uring = false: one send per connection."""
    await fanout_reaches_everyone("false")


def pings(first, last):
    return b"".join(tchelper.ws_frame(json.dumps({"type": "ping", "id": i}))
                    for i in range(first, last + 1))


def tcp_queues(local_port, remote_port):
    """The kernel's view of one loopback TCP socket, from ss(8): bytes waiting to be read
    (recv_q) and to be sent (send_q), and the memory its send queue holds (wmem) against its
    send buffer (sndbuf). None if there is no such socket."""
    out = subprocess.run(["ss", "-Htnm",
                          f"( sport = :{local_port} and dport = :{remote_port} )"],
                         capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"^ESTAB\s+(\d+)\s+(\d+)\s.*?skmem:\([^)]*\btb(\d+),[^)]*\bw(\d+)", out,
                  re.S | re.M)
    if not m:
        return None
    recv_q, send_q, sndbuf, wmem = (int(g) for g in m.groups())
    return {"recv_q": recv_q, "send_q": send_q, "sndbuf": sndbuf, "wmem": wmem}


def wait_for(what, cond, deadline_s=30.0):
    """Polls cond() until it returns a true value; returns it, or None past the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    tchelper.log(f"NOTE: not seen within {deadline_s} s: {what}")
    return None


def slow_reader(srv, chunk, more, max_pings=20000):
    """Sends pings `chunk` at a time without reading, each chunk once the server has read
    the one before, until the server's socket is full; then `more` (their replies meet the
    full socket) and, once the server has read those, a last chunk; then reads every reply.
    Returns (texts, pings sent, what the waits saw); texts None when the upgrade failed.

    Nothing here depends on how fast either side runs, nor on how large the kernel makes
    the buffers: the client goes by the kernel's own account of both sockets (ss), not by
    a time. The socket is full when its send queue holds as much memory as its send buffer
    allows; the kernel then takes nothing more, so every send the server makes after that
    leaves bytes unsent. The server writes the replies to what one read brought at the
    start of its next loop round, before it reads again; a chunk fits one TLS record and
    one read, so once the server has read the last chunk it has written the replies to
    `more`, into the full socket."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small window and small segments: the replies stay in the server's send queue.
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", srv.port))
    me = raw.getsockname()[1]
    with tchelper.insecure_ssl().wrap_socket(raw, server_hostname="localhost") as s:
        if tchelper.hand_upgrade(s, srv.port, srv.origin) != 101:
            return None, 0, None

        def all_read():
            """The server's socket once the server has read everything sent to it."""
            theirs, mine = tcp_queues(srv.port, me), tcp_queues(me, srv.port)
            ok = theirs and mine and theirs["recv_q"] == 0 and mine["send_q"] == 0
            return theirs if ok else None

        def full(q):
            return q if q and q["wmem"] >= q["sndbuf"] else None

        sent, filled = 0, None
        while sent < max_pings and not filled:
            s.sendall(pings(sent + 1, sent + chunk))
            sent += chunk
            q = wait_for("the server read every ping sent", all_read)
            if q is None:
                break
            filled = full(q)
        s.sendall(pings(sent + 1, sent + more))
        sent += more
        after_more = full(wait_for("the server read the pings sent to a full socket", all_read))
        s.sendall(pings(sent + 1, sent + chunk))
        sent += chunk
        after_last = full(wait_for("the server read the last pings", all_read))
        return tchelper.hand_read_texts(s, sent, 20), sent, (filled, after_more, after_last)


@S.test
async def a_slow_reader_gets_every_reply_in_order():
    """Replies the socket cannot take wait in the send batch and arrive whole, in order."""
    srv = S.server(name="slow", config={"limits": LIMITS})
    srv.start()
    texts, count, seen = await asyncio.to_thread(slow_reader, srv, 100, 100)
    S.check(texts is not None, "the upgrade succeeded")
    S.check(seen and all(seen),
            "the server's socket filled (its send queue at its send buffer) while the client "
            "did not read, and stayed full while the server read the pings after", seen)
    ids = [json.loads(t).get("id") for t in texts or []]
    S.check(ids == list(range(1, count + 1)),
            f"all {count} replies arrived, whole and in order",
            f"{len(ids)} replies, first wrong at {next((i for i, v in enumerate(ids) if v != i + 1), None)}")
    S.check(srv.stop() == 0, "the server stops cleanly")
    counts = sends_line(srv)
    S.check(counts is not None and counts[2] > 0 and counts[3] == 0,
            "sends met the full socket (left bytes unsent) and nothing failed", counts)


if __name__ == "__main__":
    S.main()
