#!/usr/bin/python3
"""Integration: dropped connections and routing.resume_window_s (3 s here).

A customer who resumes with the token inside the window keeps the place (queued) or
the call (answered); outside the window the session has ended (abandoned before an
answer, customer_gone during a call). An agent who drops during a call and logs in
again inside the window finds the call; outside it the call ends agent_gone.
Drops are simulated by aborting the TCP connection (no close frame).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import FAKE_SDP, Suite, sleep  # noqa: E402

S = Suite("reconnect")
srv = None
WINDOW = 3


async def call(agent, cust):
    """agent (available) is rung for cust and accepts."""
    ring = await agent.expect_event("ring", 5, lambda e: e.get("session_id") == cust.session_id)
    r = await agent.request("agent.accept", session_id=ring["session_id"])
    if r.get("type") != "agent.accept.ok":
        raise RuntimeError(f"accept: {r}")
    await cust.expect_event("session.answered", 3)


@S.test
async def setup():
    """A server with resume_window_s 3."""
    global srv
    srv = S.server(config={"routing": {"desks": "broadband,queue_only,calls,agent_drop",
                                       "resume_window_s": WINDOW, "ring_timeout_s": 10,
                                       "after_call_work_s": 2}}, name="reconnect")
    srv.add_account("callee", "agent", ["calls"])
    srv.add_account("dropper", "agent", ["agent_drop"])
    srv.start()
    S.check(srv.alive(), "server started")


@S.test
async def customer_resume_keeps_place():
    """A queued customer who drops and resumes within the window keeps position and id."""
    c1, c2, c3 = [await srv.customer("queue_only") for _ in range(3)]
    c2.drop()
    await sleep(1.0)
    back = await srv.client()
    r = await back.request("customer.resume", token=c2.token)
    S.check(r.get("type") == "customer.resume.ok", "resume within the window -> customer.resume.ok", r)
    S.check(r.get("session_id") == c2.session_id and r.get("desk") == "queue_only"
            and r.get("state") == "queued" and r.get("position") == 2
            and "wait_s" in r and r.get("agent") is None,
            "the resumed session keeps its id, desk, state queued and position 2", r)
    moved = [e for e in c3.drain("queue.update") if e.get("position") != 3]
    S.check(not moved, "the customer behind kept position 3 throughout", moved)
    await c1.request("customer.leave")
    S.check(await back.wait_position(1) is not None,
            "the resumed connection receives queue.update (position 1) afterwards")
    S.check(await c3.wait_position(2) is not None, "the customer behind moves to 2")

    live = await srv.client()
    r = await live.request("customer.resume", token=c3.token)
    S.check(r.get("type") == "customer.resume.ok" and r.get("position") == 2,
            "resume also works while the session's old connection is still open", r)

    r = await (await srv.client()).request("customer.resume",
                                           token="00000000000000000000000000000000")
    S.check_error(r, {"not_found", "session_ended"}, "resume with an unknown token -> not_found")
    await back.request("customer.leave")
    await live.request("customer.leave")


@S.test
async def customer_resume_after_window():
    """Outside the window the session ended abandoned; resume -> session_ended; the
    customer behind moves up."""
    gone = await srv.customer("queue_only")
    behind = await srv.customer("queue_only")
    gone.drop()
    await sleep(1.0)
    S.check(not [e for e in behind.drain("queue.update") if e.get("position") == 1],
            "inside the window the customer behind keeps position 2")
    S.check(await behind.wait_position(1, timeout=WINDOW + 3) is not None,
            "after the window the customer behind moves to position 1")
    await sleep(0.3)
    r = await (await srv.client()).request("customer.resume", token=gone.token)
    S.check_error(r, "session_ended", "resume after the window -> session_ended")
    S.check(r.get("reason") == "abandoned", "the error gives the end reason (abandoned)", r)
    row = tchelper.session_row(srv.export_csv(), gone.session_id)
    S.check(row is not None and tchelper.find_col(row, "end_reason", "reason") == "abandoned",
            "the store has the session ended abandoned", row)
    await behind.request("customer.leave")


@S.test
async def customer_drop_during_call():
    """A customer who drops during a call and resumes within the window finds the call
    (state answered, agent); media routing goes to the new connection."""
    agent = await srv.agent("callee", available=True)
    cust = await srv.customer("calls")
    await call(agent, cust)
    cust.drop()
    await sleep(1.0)
    S.check(await agent.maybe_event("session.ended", 0.2) is None,
            "the agent's call is not ended inside the window")
    back = await srv.client()
    r = await back.request("customer.resume", token=cust.token)
    S.check(r.get("type") == "customer.resume.ok" and r.get("state") == "answered"
            and isinstance(r.get("agent"), dict) and r.get("session_id") == cust.session_id,
            "resume during the call -> state answered with the agent", r)
    r = await back.request("offer", sdp=FAKE_SDP)
    S.check(r.get("type") == "offer.ok" and isinstance(r.get("sdp"), str),
            "the resumed connection can offer media again (ICE restart)", r)
    await agent.request("hangup")
    ev = await back.maybe_event("session.ended", 3)
    S.check(ev is not None and ev.get("reason") == "completed",
            "the resumed customer gets session.ended completed", ev)
    await agent.maybe_event("session.ended", 3)
    await agent.request("agent.outcome", session_id=cust.session_id, code="ok")

    r = await (await srv.client()).request("customer.resume", token=cust.token)
    S.check_error(r, "session_ended", "resuming a completed session -> session_ended")
    S.check(r.get("reason") == "completed", "with reason completed", r)
    rater = await srv.client()
    rated = await rater.request("customer.rate", rating=5, token=cust.token)
    S.check_reply(rated, "customer.rate", "a fresh connection rates it with the token")

    c2 = await srv.customer("calls")
    await call(agent, c2)
    c2.drop()
    ev = await agent.maybe_event("session.ended", WINDOW + 4)
    S.check(ev is not None and ev.get("reason") == "customer_gone",
            "a customer who does not come back within the window -> customer_gone", ev)


@S.test
async def agent_drop_during_call():
    """An agent who drops during a call and logs in again within the window finds it
    (login.ok has `call`); outside the window the call ends agent_gone."""
    agent = await srv.agent("dropper", available=True)
    cust = await srv.customer("agent_drop")
    await cust.request("offer", sdp=FAKE_SDP)
    await call(agent, cust)
    await agent.request("offer", sdp=FAKE_SDP)
    agent.drop()
    await sleep(1.0)
    S.check(await cust.maybe_event("session.ended", 0.2) is None,
            "the customer's call is not ended inside the window")
    again = await srv.login("dropper")
    lr = again.login_reply
    call_obj = lr.get("call")
    S.check(isinstance(call_obj, dict) and call_obj.get("session_id") == cust.session_id,
            "login.ok within the window has `call` with the session", lr)
    S.check(lr.get("state") == "on_call", "and the agent's state is on_call", lr)
    r = await again.request("offer", sdp=FAKE_SDP)
    S.check(r.get("type") == "offer.ok" and isinstance(r.get("sdp"), str),
            "the agent's new connection can offer media for the call", r)
    await again.request("hangup")
    ev = await cust.maybe_event("session.ended", 3)
    S.check(ev is not None and ev.get("reason") == "completed",
            "the agent hangs up from the new connection: completed", ev)
    await again.request("agent.outcome", session_id=cust.session_id, code="ok")

    c2 = await srv.customer("agent_drop")
    await call(again, c2)
    again.drop()
    ev = await c2.maybe_event("session.ended", WINDOW + 4)
    S.check(ev is not None and ev.get("reason") == "agent_gone",
            "an agent who does not come back within the window -> agent_gone", ev)


@S.test
async def login_replaces_connection():
    """Logging in again while the earlier connection is open replaces it: the old one gets
    session.replaced and is closed."""
    first = await srv.login("callee")
    second = await srv.login("callee")
    ev = await first.maybe_event("session.replaced", 3)
    S.check(ev is not None, "the old connection gets session.replaced")
    S.check(await first.wait_closed(3) is not None, "and is closed")
    r = await second.request("agent.state", state="available")
    S.check_reply(r, "agent.state", "the new connection works")


if __name__ == "__main__":
    S.main()
