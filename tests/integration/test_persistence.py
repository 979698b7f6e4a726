#!/usr/bin/python3
"""Integration: what a user was told happened survives a restart (DESIGN.md, "Data that
must not be lost").

Sessions are driven to ended/outcome/rated, the server gets SIGTERM, then starts again on
the same database: the export (telecounter-admin export-csv) and the live stats still
show every acknowledged write; sessions open at shutdown ended server_shutdown; an invite
issued before the restart can be redeemed after it; a token still rates its session.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402,F401  (re-executes under /usr/bin/python3 if needed)
from tchelper import Suite, find_col, session_row  # noqa: E402

S = Suite("persistence")
srv = None
ids = {}
tokens = {}
invite = {}


async def served(agent, cust):
    """agent (available) answers cust."""
    await agent.expect_event("ring", 5, lambda e: e.get("session_id") == cust.session_id)
    r = await agent.request("agent.accept", session_id=cust.session_id)
    if r.get("type") != "agent.accept.ok":
        raise RuntimeError(f"accept: {r}")
    await cust.expect_event("session.answered", 3)


@S.test
async def setup():
    """A server on a fresh database."""
    global srv
    srv = S.server(config={"routing": {"desks": "broadband,urgent_sim", "after_call_work_s": 30}},
                   name="persist")
    srv.add_account("keeper", "agent", ["broadband", "urgent_sim"])
    srv.add_account("watcher", "ops", [])
    srv.start()
    S.check(srv.alive(), "server started")


@S.test
async def drive_sessions():
    """Five sessions: completed+outcome+rated, abandoned, completed unrated, on a call at
    shutdown, queued at shutdown; and one unredeemed invite."""
    agent = await srv.agent("keeper", available=True)

    c1 = await srv.customer("broadband")
    await served(agent, c1)
    await c1.request("hangup")
    await c1.expect_event("session.ended", 3)
    r = await agent.request("agent.outcome", session_id=c1.session_id, code="resolved",
                            notes="router replaced")
    S.check_reply(r, "agent.outcome", "outcome recorded for session 1")
    r = await c1.request("customer.rate", rating=4, comment="good help")
    S.check_reply(r, "customer.rate", "rating 4 recorded for session 1")
    ids["completed"], tokens["completed"] = c1.session_id, c1.token

    await agent.request("agent.state", state="not_ready")
    c2 = await srv.customer("broadband")
    r = await c2.request("customer.leave")
    S.check(r.get("reason") == "abandoned", "session 2 abandoned", r)
    ids["abandoned"] = c2.session_id

    await agent.request("agent.state", state="available")
    c3 = await srv.customer("broadband")
    await served(agent, c3)
    await agent.request("hangup")
    await c3.expect_event("session.ended", 3)
    await agent.request("agent.outcome", session_id=c3.session_id, code="callback")
    ids["unrated"], tokens["unrated"] = c3.session_id, c3.token

    c4 = await srv.customer("broadband")
    await served(agent, c4)
    ids["on_call"], tokens["on_call"] = c4.session_id, c4.token
    c5 = await srv.customer("broadband")
    ids["queued"] = c5.session_id

    inv = await agent.request("invite.create", case_ref="CASE-RESTART", note="after restart")
    S.check_reply(inv, "invite.create", "an invite issued before the restart")
    invite.update(inv)

    ops = await srv.login("watcher")
    st = (await ops.request("stats.live")).get("stats", {})
    S.check(st.get("today", {}).get("sessions") == 5, "stats count 5 sessions before the restart",
            st.get("today"))

    code = await srv.astop()
    S.check(code == 0, "SIGTERM stops the server with exit code 0 within 10 s", code)
    for name, c in (("on_call", c4), ("queued", c5)):
        ev = await c.maybe_event("session.ended", 1)
        S.check(ev is not None and ev.get("reason") == "server_shutdown",
                f"the {name} customer was told session.ended server_shutdown", ev)
        S.check(await c.wait_closed(2) is not None, f"the {name} customer's connection closed")


@S.test
async def after_restart():
    """Same database, new process: every acknowledged write is there."""
    srv.start()
    S.check(srv.alive(), "the server starts again on the same database")
    rows = srv.export_csv()
    S.check(len(rows) == 5, "export-csv lists the 5 sessions", len(rows))

    r1 = session_row(rows, ids.get("completed"))
    S.check(r1 is not None and find_col(r1, "end_reason", "reason") == "completed"
            and find_col(r1, "outcome") == "resolved"
            and find_col(r1, "notes") == "router replaced"
            and str(find_col(r1, "rating")) == "4"
            and find_col(r1, "rating_comment", "comment") == "good help",
            "session 1: completed, outcome, notes, rating 4 and comment kept", r1)
    S.check(r1 is not None and all(find_col(r1, k) not in (None, "", "0")
                                   for k in ("queued_at", "answered_at", "ended_at")),
            "session 1: queued/answered/ended times kept", r1)
    r2 = session_row(rows, ids.get("abandoned"))
    S.check(r2 is not None and find_col(r2, "end_reason", "reason") == "abandoned",
            "session 2: abandoned kept", r2)
    r3 = session_row(rows, ids.get("unrated"))
    S.check(r3 is not None and find_col(r3, "outcome") == "callback",
            "session 3: outcome kept", r3)
    for name in ("on_call", "queued"):
        row = session_row(rows, ids.get(name))
        S.check(row is not None and find_col(row, "end_reason", "reason") == "server_shutdown",
                f"the session {name} at shutdown ended server_shutdown", row)

    again = await srv.client()
    r = await again.request("customer.resume", token=tokens["unrated"])
    S.check(r.get("code") == "session_ended" and r.get("reason") == "completed",
            "a token from before the restart still tells how its session ended", r)
    r = await again.request("customer.resume", token=tokens["on_call"])
    S.check(r.get("code") == "session_ended" and r.get("reason") == "server_shutdown",
            "the token of a session open at shutdown -> session_ended server_shutdown", r)
    rater = await srv.client()
    r = await rater.request("customer.rate", rating=2, token=tokens["unrated"])
    S.check_reply(r, "customer.rate", "a token from before the restart rates its session "
                  "(customer.rate with token)")
    r = await rater.request("customer.rate", rating=5, token=tokens["completed"])
    S.check_error(r, "already_rated", "a session rated before the restart stays rated")

    ops = await srv.login("watcher")
    status, body = await srv.ahttp_get("/api/v1/stats/live", ops.login_reply.get("auth_token"))
    S.check(status == 200, "live stats answer after the restart", (status, body[:200]))
    try:
        today = json.loads(body).get("today", {})
    except ValueError:
        today = {}
    reasons = today.get("by_reason", {})
    S.check(today.get("sessions") == 5 and today.get("ended") == 5,
            "today: 5 sessions, 5 ended", today)
    S.check(reasons.get("completed") == 2 and reasons.get("abandoned") == 1
            and reasons.get("server_shutdown") == 2,
            "today by reason: completed 2, abandoned 1, server_shutdown 2", reasons)
    S.check(today.get("answered") == 3, "today: 3 answered", today)
    S.check(today.get("rated") == 2 and abs(today.get("avg_rating", 0) - 3.0) < 1e-6,
            "today: 2 rated, average rating 3.0 ((4 + 2) / 2)", today)
    S.check(abs(today.get("abandonment_rate", -1) - 0.2) < 1e-6,
            "today: abandonment rate 0.2 (1 of 5 ended)", today)

    cust = await srv.client()
    r = await cust.request("customer.redeem", code=invite.get("code", ""))
    S.check(r.get("type") == "customer.redeem.ok" and r.get("position") == 1,
            "an invite issued before the restart is redeemed after it", r)
    agent = await srv.agent("keeper", available=True)
    ring = await agent.maybe_event("ring", 5)
    S.check(ring is not None and ring.get("case_ref") == "CASE-RESTART",
            "the agent (account kept) is rung with the invite's case_ref", ring)


if __name__ == "__main__":
    S.main()
