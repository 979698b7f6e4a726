#!/usr/bin/python3
"""Integration: /readyz tells the truth about the store (issue 12 item 11).

- The database file (and its -wal and -shm) deleted under a running server: /readyz answers
  503 "database file is gone", a write request (customer.join) gets an error instead of an
  ok that would be lost, /healthz stays 200 (the process is alive), and the server logs the
  loss once.
- A full disk: the database on a small tmpfs that the test mounts (we run as root) and fills;
  /readyz answers 503 naming the cause (the store's write probe fails), and 200 again once
  the space is freed. The mount is removed on every exit path.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tchelper import Suite  # noqa: E402

S = Suite("readiness")
DEADLINE_S = 15.0  # the probe runs at most every 2 s; the file check on every request


async def poll_readyz(srv, want_status, deadline_s=DEADLINE_S):
    """Polls /readyz until it answers want_status; returns the last (status, body)."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        last = await asyncio.to_thread(srv.http_get, "/readyz", None, 2.0)
        if last[0] == want_status:
            break
        await asyncio.sleep(0.1)
    return last


def log_count(srv, text):
    with open(srv.log_path, errors="replace") as f:
        return f.read().count(text)


@S.test
async def deleted_database():
    """The database file deleted under the server: not ready, writes refused, logged once."""
    srv = S.server(name="gone")
    srv.start()
    status, body = srv.http_get("/readyz")
    S.check(status == 200, "ready with its database in place", (status, body))
    c = await srv.client()
    r = await c.request("customer.join", desk="broadband")
    S.check_reply(r, "customer.join", "a customer joins while the file is there")

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(srv.db + suffix):
            os.unlink(srv.db + suffix)
    status, body = await poll_readyz(srv, 503)
    S.check(status == 503 and body.strip() == "database file is gone",
            "/readyz: 503 'database file is gone'", (status, body))
    status, body = srv.http_get("/healthz")
    S.check(status == 200, "/healthz stays 200 (the process is alive)", (status, body))

    c2 = await srv.client()
    r = await c2.request("customer.join", desk="broadband")
    S.check(r.get("type") == "error", "a join after the deletion gets an error, not an ok", r)
    S.check(not os.path.exists(srv.db), "nothing recreated the database file")
    for _ in range(3):
        srv.http_get("/readyz")
    S.check(log_count(srv, "is gone") == 1, "the server logs the loss exactly once",
            log_count(srv, "is gone"))
    S.check(srv.alive(), "the server keeps running")
    await srv.astop()


@S.test
async def full_disk():
    """The database on a tmpfs that fills up: not ready, and ready again once freed."""
    mnt = tempfile.mkdtemp(prefix="tc-int-disk-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mnt],
                       capture_output=True, text=True)
    if not S.check(r.returncode == 0, "a 4 MiB tmpfs is mounted for the database", r.stderr):
        os.rmdir(mnt)
        return
    srv = None
    try:
        srv = S.server(name="full", config={"store": {"path": os.path.join(mnt, "tc.db")}})
        srv.db = os.path.join(mnt, "tc.db")
        srv.start()
        status, body = srv.http_get("/readyz")
        S.check(status == 200, "ready on an empty small disk", (status, body))

        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass  # ENOSPC: the disk is full
        status, body = await poll_readyz(srv, 503)
        S.check(status == 503 and "No space left" in body,
                "/readyz: 503 naming the full disk", (status, body))
        S.check(body.count("\n") == 1, "the reason is one line", body)
        c = await srv.client()
        r = await c.request("customer.join", desk="broadband")
        S.check(r.get("type") == "error", "a join while the disk is full gets an error", r)

        os.unlink(filler)
        status, body = await poll_readyz(srv, 200)
        S.check(status == 200, "ready again once space is freed", (status, body))
        c = await srv.client()
        r = await c.request("customer.join", desk="broadband")
        S.check_reply(r, "customer.join", "writes work again")
    finally:
        if srv is not None:
            await srv.astop()
        u = subprocess.run(["umount", mnt], capture_output=True, text=True)
        S.check(u.returncode == 0, "the tmpfs is unmounted", u.stderr)
        if u.returncode == 0:
            os.rmdir(mnt)


if __name__ == "__main__":
    S.main()
