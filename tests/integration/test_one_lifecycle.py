#!/usr/bin/python3
"""Integration: one lifecycle for both sides of a call, across reloads and re-logins
(issue 11). Each case was seen broken from outside:

- an agent who logs in again from a second tab while the first is open, then more
  connections churn: the tables were keyed by memory of the replaced connection
  (use-after-free under ASan, lookups that miss without it);
- a customer who resumes from a second connection and then drops left a "ghost"
  session that stayed queued after every socket closed;
- a customer who reloaded mid-call was not told the call ended when the agent,
  signed in again in another tab, hung up;
- when the agent's tab closed, the customer heard nothing (a frozen picture under
  "Good connection"), and an agent back after the window had after-call work with
  no session to code.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import FAKE_SDP, Suite, sleep  # noqa: E402

S = Suite("one_lifecycle")
srv = None
WINDOW = 3
ACW = 30


async def call(agent, cust):
    ring = await agent.expect_event("ring", 5, lambda e: e.get("session_id") == cust.session_id)
    r = await agent.request("agent.accept", session_id=ring["session_id"])
    if r.get("type") != "agent.accept.ok":
        raise RuntimeError(f"accept: {r}")
    await cust.expect_event("session.answered", 3)
    return r


@S.test
async def setup():
    """A server with resume_window_s 3."""
    global srv
    srv = S.server(config={"routing": {"desks": "broadband,ghosts,tabs,closing,late",
                                       "resume_window_s": WINDOW, "ring_timeout_s": 10,
                                       "after_call_work_s": ACW}}, name="lifecycle")
    srv.add_account("twotabs", "agent", ["tabs"])
    srv.add_account("closer", "agent", ["closing"])
    srv.add_account("latecomer", "agent", ["late"])
    srv.add_account("watcher", "agent", ["ghosts"])
    srv.add_account("opsy", "ops", [])
    srv.start()
    S.check(srv.alive(), "server started")


async def not_ready_agents(ops):
    r = await ops.request("stats.live")
    return (r.get("stats") or {}).get("agents", {}).get("not_ready")


@S.test
async def relogin_churn_keeps_the_server_up():
    """Re-login from a second tab (the first still open, watching the queues), then
    churn: connections come and go (reusing the replaced connection's memory), the
    summary tick walks the accounts. When the second tab closes the agent must go
    offline: with the table keyed by the freed connection the close missed the entry,
    the agent stayed "not ready" on a freed connection, and the tick read it."""
    ops = await srv.login("opsy")
    for round_ in range(3):
        first = await srv.login("watcher")
        await first.request("queue.watch")
        second = await srv.login("watcher")
        await second.request("queue.watch")
        S.check(await first.maybe_event("session.replaced", 3) is not None,
                f"round {round_}: the first tab gets session.replaced")
        await first.wait_closed(3)
        churn = [await srv.customer("ghosts") for _ in range(5)]
        for c in churn:
            await c.request("customer.leave")
            await c.close()
        await sleep(1.2)  # the 1 s summary tick walks the accounts table
        S.check(await second.maybe_event("queue.summary", 3) is not None,
                f"round {round_}: the second tab gets queue summaries")
        await second.close()
        left = None
        for _ in range(20):
            left = await not_ready_agents(ops)
            if left == 0:
                break
            await sleep(0.1)
        S.check(left == 0, f"round {round_}: with both tabs closed the agent is not ready "
                "no more (offline, then gone)", left)
        S.check(srv.alive(), f"round {round_}: the server is alive")
    third = await srv.login("watcher")
    r = await third.request("agent.state", state="not_ready")
    S.check_reply(r, "agent.state", "a third login works")
    await third.close()


@S.test
async def no_ghost_after_a_resume_from_a_second_connection():
    """A customer resumes from a second connection (the first is replaced), then the
    second drops: the session ends abandoned after the window, and no agent is rung
    for it."""
    first = await srv.customer("ghosts")
    second = await srv.client()
    r = await second.request("customer.resume", token=first.token)
    S.check_reply(r, "customer.resume", "resume from a second connection")
    S.check(await first.maybe_event("session.replaced", 3) is not None,
            "the first connection is told it was replaced")
    await first.wait_closed(3)
    second.drop()
    await sleep(WINDOW + 2)
    agent = await srv.agent("watcher", available=True)
    ring = await agent.maybe_event("ring", 2)
    S.check(ring is None, "no agent is rung for the customer who is gone", ring)
    r = await (await srv.client()).request("customer.resume", token=first.token)
    S.check_error(r, "session_ended", "the session has ended")
    S.check(r.get("reason") == "abandoned", "as abandoned", r)
    await agent.close()


@S.test
async def reloaded_customer_hears_a_relogged_agent_hang_up():
    """Customer reloads mid-call (resume), the agent logs in again in another tab and
    hangs up: the customer's current connection gets session.ended."""
    agent = await srv.agent("twotabs", available=True)
    cust = await srv.customer("tabs")
    await call(agent, cust)
    reloaded = await srv.client()
    r = await reloaded.request("customer.resume", token=cust.token)
    S.check(r.get("state") == "answered" and r.get("peer") == "connected",
            "the reloaded customer finds the call, the agent connected", r)
    tab2 = await srv.login("twotabs")
    S.check((tab2.login_reply.get("call") or {}).get("session_id") == cust.session_id,
            "the agent's second tab has the call", tab2.login_reply)
    r = await tab2.request("hangup")
    S.check_reply(r, "hangup", "the second tab hangs up")
    ev = await reloaded.maybe_event("session.ended", 3)
    S.check(ev is not None and ev.get("reason") == "completed",
            "the reloaded customer gets session.ended completed", ev)
    ev = await tab2.maybe_event("session.ended", 3)
    S.check(ev is not None, "the agent's current tab gets session.ended", ev)
    await tab2.request("agent.outcome", session_id=cust.session_id, code="ok")
    await tab2.close()


@S.test
async def agent_tab_closed_then_back_within_the_window():
    """The agent's tab closes: the customer hears peer.state reconnecting (with the
    window's end); the agent logs in again within the window and gets the call back
    with desk, case and time waited; the customer hears peer.state connected."""
    agent = await srv.agent("closer", available=True)
    cust = await srv.customer("closing")
    accepted = await call(agent, cust)
    agent.drop()
    ev = await cust.maybe_event("peer.state", 3)
    S.check(ev is not None and ev.get("peer") == "agent" and ev.get("state") == "reconnecting"
            and isinstance(ev.get("until"), int),
            "the customer hears the agent is reconnecting, and until when", ev)
    again = await srv.login("closer")
    c = again.login_reply.get("call") or {}
    S.check(c.get("session_id") == cust.session_id and c.get("desk") == "closing"
            and c.get("case_ref") == accepted.get("case_ref")
            and c.get("waited_s") == accepted.get("waited_s")
            and isinstance(c.get("answered_at"), int) and c.get("peer") == "connected",
            "login.ok has the call with desk, case, waited_s and answered_at",
            again.login_reply)
    ev = await cust.maybe_event("peer.state", 3, lambda e: e.get("state") == "connected")
    S.check(ev is not None and ev.get("peer") == "agent",
            "the customer hears the agent is back", ev)
    # The customer reloads: the agent hears it, and the resume says the agent is there.
    cust.drop()
    ev = await again.maybe_event("peer.state", 3)
    S.check(ev is not None and ev.get("peer") == "customer"
            and ev.get("state") == "reconnecting", "the agent hears the customer reconnecting",
            ev)
    back = await srv.client()
    r = await back.request("customer.resume", token=cust.token)
    S.check(r.get("peer") == "connected", "the customer's resume says the agent is there", r)
    ev = await again.maybe_event("peer.state", 3, lambda e: e.get("state") == "connected")
    S.check(ev is not None, "the agent hears the customer is back", ev)
    await again.request("hangup")
    await back.maybe_event("session.ended", 3)
    await again.request("agent.outcome", session_id=cust.session_id, code="ok")
    await again.close()


@S.test
async def agent_back_after_the_window_codes_the_call():
    """Past the window the call ends agent_gone for the customer; the agent who comes
    back later starts in after-call work for that call and can save its outcome."""
    agent = await srv.agent("latecomer", available=True)
    cust = await srv.customer("late")
    await cust.request("offer", sdp=FAKE_SDP)
    await call(agent, cust)
    agent.drop()
    ev = await cust.maybe_event("session.ended", WINDOW + 4)
    S.check(ev is not None and ev.get("reason") == "agent_gone",
            "the customer is told the call ended: agent_gone", ev)
    again = await srv.login("latecomer")
    lr = again.login_reply
    ac = lr.get("after_call") or {}
    S.check(lr.get("state") == "after_call_work" and ac.get("session_id") == cust.session_id
            and ac.get("desk") == "late" and isinstance(ac.get("until"), int)
            and "call" not in lr,
            "login.ok: after-call work for the call that ended", lr)
    r = await again.request("agent.outcome", session_id=cust.session_id, code="callback")
    S.check(r.get("type") == "agent.outcome.ok" and r.get("state") == "available",
            "the outcome is saved and the agent is available", r)
    row = tchelper.session_row(srv.export_csv(), cust.session_id)
    S.check(row is not None and tchelper.find_col(row, "outcome") == "callback"
            and tchelper.find_col(row, "end_reason", "reason") == "agent_gone",
            "the store has the outcome and the end reason", row)
    await again.close()


@S.test
async def relogin_while_ringing_gets_the_ring():
    """An agent who logs in again while its console rings is rung on the new tab, with
    what is left of the ring, and can accept (the chaos test found the new tab told
    'ringing' with no ring: it could not accept, and the customer was missed)."""
    agent = await srv.agent("twotabs", available=True)
    cust = await srv.customer("tabs")
    first = await agent.expect_event("ring", 5, lambda e: e.get("session_id") == cust.session_id)
    tab2 = await srv.login("twotabs")
    S.check(tab2.login_reply.get("state") == "ringing", "the second tab's login says ringing",
            tab2.login_reply)
    ring = await tab2.maybe_event("ring", 3)
    S.check(ring is not None and ring.get("session_id") == cust.session_id
            and ring.get("desk") == "tabs"
            and 0 < ring.get("timeout_s", 0) <= first.get("timeout_s", 0),
            "the second tab gets the ring, with the time left", (first, ring))
    r = await tab2.request("agent.accept", session_id=cust.session_id)
    S.check_reply(r, "agent.accept", "and accepts it")
    await cust.maybe_event("session.answered", 3)
    await tab2.request("hangup")
    await tab2.request("agent.outcome", session_id=cust.session_id, code="ok")
    await tab2.close()


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
       b"\x00\x00\x00\x90wS\xde")


@S.test
async def evidence_only_during_the_call_and_its_wrap_up():
    """Stills are images (their bytes say so) and are taken during the call or its
    after-call work, not after (issue 12 item 10: HTML stored as image/png, and uploads
    accepted at any time later)."""
    agent = await srv.agent("closer", available=True)
    cust = await srv.customer("closing")
    await call(agent, cust)
    token = agent.login_reply.get("auth_token")
    path = f"/api/v1/evidence?session_id={cust.session_id}"
    status, body = await srv.ahttp_post(path, PNG, "image/png", token)
    S.check(status == 201, "a PNG during the call -> 201", (status, body))
    status, body = await srv.ahttp_post(path, b"<html><script>x</script>", "image/png", token)
    S.check(status == 400, "HTML sent as image/png -> 400", (status, body))
    status, body = await srv.ahttp_post(path, PNG, "image/jpeg", token)
    S.check(status == 400, "a PNG sent as image/jpeg -> 400", (status, body))
    await agent.request("hangup")
    await cust.maybe_event("session.ended", 3)
    status, body = await srv.ahttp_post(path, PNG, "image/png", token)
    S.check(status == 201, "during after-call work (30 s here) -> 201", (status, body))
    r = await agent.request("agent.outcome", session_id=cust.session_id, code="ok")
    S.check_reply(r, "agent.outcome", "outcome saved")
    status, body = await srv.ahttp_post(path, PNG, "image/png", token)
    S.check(status == 409, "after the after-call work -> 409", (status, body))
    await agent.close()


@S.test
async def server_stop_reaches_both_sides():
    """A clean stop ends the call for both sides' current connections."""
    agent = await srv.agent("closer", available=True)
    cust = await srv.customer("closing")
    await call(agent, cust)
    reloaded = await srv.client()
    await reloaded.request("customer.resume", token=cust.token)
    await srv.astop()
    for who, c in (("customer", reloaded), ("agent", agent)):
        ev = await c.maybe_event("session.ended", 3)
        S.check(ev is not None and ev.get("reason") == "server_shutdown",
                f"the {who} gets session.ended server_shutdown", ev)


if __name__ == "__main__":
    S.main()
