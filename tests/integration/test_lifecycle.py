#!/usr/bin/python3
"""Integration: customers and agents through whole lifecycles (docs/protocol.md).

Join, queue positions, offer kept while queued, answer/candidate routing, ring
timeout (missed), decline, accept, hang-up, after-call work (outcome and timer),
rating, abandon, and the matching order: priority, skill, longest-idle, random.
Each test uses desks of its own so that tests cannot ring each other's agents.
"""

import hashlib
import json
import os
import re
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402  (re-executes under /usr/bin/python3 if needed)
from tchelper import FAKE_CANDIDATE, FAKE_SDP, Suite, sleep  # noqa: E402

S = Suite("lifecycle")
DESKS = ["id_check", "broadband", "urgent_sim", "pos", "flow", "rate", "miss", "miss1",
         "decl", "acw", "aband", "prio", "sk_a", "sk_b", "idle"]
srv = None
rnd = None


async def ring_for(agent, customer, timeout=5.0):
    """The ring event offering customer's session to agent (or None)."""
    return await agent.maybe_event("ring", timeout,
                                   lambda e: e.get("session_id") == customer.session_id)


async def connect_call(agent, customer):
    """Waits for agent's ring for customer and accepts it; returns the accept reply."""
    ring = await ring_for(agent, customer)
    if ring is None:
        raise tchelper.Timeout(f"{agent.username} got no ring for session {customer.session_id}")
    reply = await agent.request("agent.accept", session_id=customer.session_id)
    if reply.get("type") != "agent.accept.ok":
        raise RuntimeError(f"accept failed: {reply}")
    await customer.expect_event("session.answered")
    return reply


async def finish_call(agent, customer):
    """Hangs up from the agent's side and records an outcome (agent back to available)."""
    await agent.request("hangup")
    await customer.maybe_event("session.ended", 3)
    await agent.maybe_event("session.ended", 3)
    await agent.request("agent.outcome", session_id=customer.session_id, code="resolved")


@S.test
async def setup():
    """Starts a server with short timers and one agent per test."""
    global srv
    srv = S.server(config={"routing": {"desks": ",".join(DESKS), "ring_timeout_s": 3,
                                       "max_offers": 2,
                                       "after_call_work_s": 2, "resume_window_s": 3}},
                   name="lifecycle")
    for name, skills in [("ag_pos", ["pos"]), ("ag_flow", ["flow"]), ("ag_rate", ["rate"]),
                         ("ag_m1", ["miss"]), ("ag_m2", ["miss"]), ("ag_s1", ["miss1"]),
                         ("ag_d1", ["decl"]), ("ag_d2", ["decl"]), ("ag_acw", ["acw"]),
                         ("ag_ab", ["aband"]), ("ag_prio", ["prio"]), ("ag_ka", ["sk_a"]),
                         ("ag_kb", ["sk_b"]), ("ag_i1", ["idle"]), ("ag_i2", ["idle"]),
                         ("ag_ev", ["id_check"]), ("ag_ev2", ["id_check"])]:
        srv.add_account(name, "agent", skills)
    srv.add_account("ops_ev", "ops", [])
    srv.start()
    S.check(srv.alive(), "server started and /readyz answered 200")


@S.test
async def join_and_positions():
    """Join replies carry session_id, token, position, wait_s; positions move up as
    customers ahead leave or are served."""
    cs = [await srv.customer("pos") for _ in range(3)]
    r = cs[0].joined
    S.check(isinstance(r.get("session_id"), int), "join reply has an integer session_id", r)
    S.check(isinstance(r.get("token"), str) and re.fullmatch(r"[0-9a-f]{32}", r["token"]),
            "join reply has a 32-hex-character token", r)
    S.check(r.get("desk") == "pos", "join reply echoes the desk", r)
    S.check(r.get("wait_s") == -1 and r.get("agents") == 0,
            "with no agent for the desk signed in, the join reply says so: wait_s -1, agents 0 "
            "(issue 12: it read 'you are next, less than a minute')", r)
    S.check([c.joined.get("position") for c in cs] == [1, 2, 3],
            "three joiners get positions 1, 2, 3", [c.joined.get("position") for c in cs])
    S.check(len({c.session_id for c in cs}) == 3 and len({c.token for c in cs}) == 3,
            "each joiner gets its own session id and token")

    again = await cs[1].request("customer.join", desk="pos")
    S.check_error(again, "bad_state", "joining twice on one connection -> bad_state")

    left = await cs[0].request("customer.leave")
    S.check(left.get("type") == "customer.leave.ok" and left.get("reason") == "abandoned"
            and left.get("session_id") == cs[0].session_id,
            "leaving before an answer -> customer.leave.ok reason abandoned", left)
    S.check(await cs[1].wait_position(1) is not None,
            "the second customer gets queue.update position 1 when the first leaves")
    S.check(await cs[2].wait_position(2) is not None,
            "the third customer gets queue.update position 2 when the first leaves")

    c4 = await srv.customer("pos")
    S.check(c4.joined.get("position") == 3, "a later joiner is placed at the end (position 3)",
            c4.joined)

    agent = await srv.agent("ag_pos")
    upd = await c4.maybe_event("queue.update", 2)
    S.check(upd is None, "an agent who signs in not ready changes nothing for the queue", upd)
    await agent.request("agent.state", state="available")
    upd = await c4.maybe_event("queue.update", 3, lambda e: e.get("agents") == 1)
    S.check(upd is not None and upd.get("wait_s", -1) >= 0,
            "when the agent is available, waiting customers hear: agents 1 and an estimate", upd)
    ring = await ring_for(agent, cs[1])
    S.check(ring is not None, "an available agent is rung for the head of the queue")
    await agent.request("agent.accept", session_id=cs[1].session_id)
    S.check(await cs[2].wait_position(1) is not None,
            "when the head is served, the next customer moves to position 1")
    S.check(await c4.wait_position(2) is not None,
            "when the head is served, the last customer moves to position 2")
    await finish_call(agent, cs[1])
    for c in (cs[2], c4):
        await c.request("customer.leave")


def is_sdp_answer(sdp):
    """A plausible SDP answer: bundled, rtcp-mux, sha-256 fingerprint, ICE credentials."""
    return (isinstance(sdp, str) and sdp.startswith("v=0") and "a=group:BUNDLE" in sdp
            and "a=rtcp-mux" in sdp and "a=fingerprint:sha-256" in sdp
            and "a=ice-ufrag:" in sdp and "a=ice-pwd:" in sdp)


async def server_candidates(client, timeout=5.0):
    """The server's trickled candidate events up to the end-of-candidates one ("")."""
    out = []
    while True:
        ev = await client.maybe_event("candidate", timeout)
        if ev is None:
            return out
        out.append(ev)
        if ev.get("candidate") == "":
            return out


@S.test
async def media_signaling_and_full_call():
    """The customer's offer (while queued) and the agent's (on the call) are answered by
    the server, which trickles its own candidates; hang-up ends the session for both;
    after-call work then outcome."""
    cust = await srv.customer("flow")
    r = await cust.request("offer", sdp=FAKE_SDP)
    S.check(r.get("type") == "offer.ok" and is_sdp_answer(r.get("sdp")),
            "a queued customer's offer -> offer.ok with the server's SDP answer", r)
    r = await cust.request("candidate", candidate=FAKE_CANDIDATE, sdpMid="0", sdpMLineIndex=0)
    S.check_reply(r, "candidate", "a customer's candidate -> candidate.ok")
    r = await cust.request("candidate", candidate="")
    S.check_reply(r, "candidate", "the end-of-candidates candidate ('') -> candidate.ok")
    cands = await server_candidates(cust)
    S.check(cands and cands[-1].get("candidate") == "" and all(
        c.get("session_id") == cust.session_id and "sdpMid" in c and "sdpMLineIndex" in c
        for c in cands), "the server trickles candidates (session_id, sdpMid, sdpMLineIndex) "
        "and ends them with ''", cands)
    S.check(cands and all(" 127.0.0.1 " in c["candidate"] for c in cands[:-1]),
            "with media.loopback the server's candidates are on 127.0.0.1",
            [c.get("candidate") for c in cands])
    r = await cust.request("offer", sdp=FAKE_SDP)
    S.check(r.get("type") == "offer.ok" and is_sdp_answer(r.get("sdp")),
            "a second offer (ICE restart) is answered too; the session goes on", r)

    agent = await srv.agent("ag_flow")
    S.check(agent.login_reply.get("state") == "not_ready", "a fresh login starts not_ready",
            agent.login_reply)
    S.check(await agent.maybe_event("ring", 1.0) is None, "a not_ready agent is not rung")
    r = await agent.request("offer", sdp=FAKE_SDP)
    S.check_error(r, {"bad_state", "forbidden"}, "an agent's offer with no call -> bad_state")
    st = await agent.request("agent.state", state="available")
    S.check(st.get("type") == "agent.state.ok" and st.get("state") == "available",
            "agent.state available -> agent.state.ok state available", st)
    ring = await ring_for(agent, cust)
    S.check(ring is not None, "the available agent gets a ring")
    if ring:
        S.check(ring.get("desk") == "flow" and ring.get("priority") == "normal"
                and ring.get("timeout_s") == 3 and isinstance(ring.get("waited_s"), (int, float))
                and "case_ref" in ring,
                "ring has desk, priority normal, timeout_s = ring_timeout_s, waited_s, case_ref",
                ring)
    acc = await agent.request("agent.accept", session_id=cust.session_id)
    S.check(acc.get("type") == "agent.accept.ok" and acc.get("session_id") == cust.session_id
            and acc.get("desk") == "flow" and "case_ref" in acc and "note" in acc
            and "waited_s" in acc, "agent.accept.ok has session_id, desk, case_ref, note, waited_s",
            acc)
    ans = await cust.maybe_event("session.answered", 3)
    S.check(ans is not None and ans.get("session_id") == cust.session_id
            and isinstance(ans.get("agent"), dict) and "name" in ans["agent"],
            "the customer gets session.answered with the agent's name", ans)
    r = await agent.request("offer", sdp=FAKE_SDP)
    S.check(r.get("type") == "offer.ok" and is_sdp_answer(r.get("sdp")),
            "the agent's offer on the call -> offer.ok with the server's SDP answer", r)
    r = await agent.request("candidate", candidate=FAKE_CANDIDATE, sdpMid="0", sdpMLineIndex=0)
    S.check_reply(r, "candidate", "the agent's candidate -> candidate.ok")
    cands = await server_candidates(agent)
    S.check(cands and cands[-1].get("candidate") == "",
            "the server trickles its candidates to the agent too", cands)

    busy = await agent.request("agent.state", state="not_ready")
    S.check_error(busy, "bad_state", "agent.state while on_call -> bad_state")

    r = await cust.request("hangup")
    S.check_reply(r, "hangup", "hangup -> hangup.ok")
    e1 = await cust.maybe_event("session.ended", 3)
    e2 = await agent.maybe_event("session.ended", 3)
    S.check(e1 is not None and e1.get("reason") == "completed"
            and e1.get("session_id") == cust.session_id,
            "the customer gets session.ended completed", e1)
    S.check(e2 is not None and e2.get("reason") == "completed",
            "the agent gets session.ended completed", e2)
    acw = await agent.maybe_event("agent.state", 3, lambda e: e.get("state") == "after_call_work")
    now_ms = time.time() * 1000
    S.check(acw is not None and isinstance(acw.get("until"), (int, float))
            and now_ms < acw["until"] <= now_ms + 2000 + 1500,
            "the agent goes to after_call_work with until about after_call_work_s ahead", acw)
    out = await agent.request("agent.outcome", session_id=cust.session_id, code="resolved",
                              notes="modem reset")
    S.check(out.get("type") == "agent.outcome.ok" and out.get("state") == "available"
            and out.get("session_id") == cust.session_id,
            "agent.outcome ends after-call work at once (state available)", out)
    r = await cust.request("offer", sdp=FAKE_SDP)
    S.check(r.get("type") == "error", "an offer after the session ended is refused", r)
    r = await cust.request("ping")
    S.check_reply(r, "ping", "ping -> ping.ok")


@S.test
async def rating_rules():
    """customer.rate: not before the end, once only, only one's own session."""
    cust = await srv.customer("rate")
    r = await cust.request("customer.rate", rating=5)
    S.check_error(r, "not_ended", "rating while queued -> not_ended")
    agent = await srv.agent("ag_rate", available=True)
    await connect_call(agent, cust)
    r = await cust.request("customer.rate", rating=5)
    S.check_error(r, "not_ended", "rating during the call -> not_ended")
    await cust.request("hangup")
    await cust.expect_event("session.ended", 3)

    bogus = "0123456789abcdef0123456789abcdef"
    r = await cust.request("customer.rate", rating=3, token=bogus)
    S.check_error(r, {"not_found", "forbidden"}, "rating a session by an unknown token -> "
                  "not_found/forbidden")
    r = await agent.request("customer.rate", rating=1, token=cust.token)
    S.check_error(r, "forbidden", "an agent may not rate a session (forbidden)")
    r = await cust.request("customer.rate", rating=4, comment="clear and quick")
    S.check(r.get("type") == "customer.rate.ok" and r.get("session_id") == cust.session_id,
            "rating after the end -> customer.rate.ok with session_id", r)
    r = await cust.request("customer.rate", rating=5)
    S.check_error(r, "already_rated", "rating twice -> already_rated")
    r = await cust.request("customer.rate", rating=5, token=cust.token)
    S.check_error(r, "already_rated", "rating twice by token -> already_rated")


@S.test
async def missed_ring_goes_back_to_head():
    """A ring not accepted within ring_timeout_s: ring.cancelled (timeout), agent not_ready
    (missed), and the customer is served before customers who joined later."""
    m1 = await srv.agent("ag_m1", available=True)
    m2 = await srv.agent("ag_m2")
    first = await srv.customer("miss")
    ring = await ring_for(m1, first)
    S.check(ring is not None, "the available agent is rung")
    later = await srv.customer("miss")
    t0 = time.monotonic()
    cancel = await m1.maybe_event("ring.cancelled", 6)
    took = time.monotonic() - t0
    S.check(cancel is not None and cancel.get("reason") == "timeout"
            and cancel.get("session_id") == first.session_id,
            "no accept within ring_timeout_s -> ring.cancelled reason timeout", cancel)
    S.check(cancel is None or 1.5 <= took <= 5.0,
            f"the ring lasted about ring_timeout_s (3 s; measured {took:.1f} s after 2nd join)")
    st = await m1.maybe_event("agent.state", 3, lambda e: e.get("state") == "not_ready")
    S.check(st is not None and st.get("reason") == "missed",
            "the agent who missed goes not_ready with reason missed", st)
    S.check(await first.maybe_event("session.ended", 0.5) is None,
            "the customer is not ended while another agent of the desk has not tried")
    await m2.request("agent.state", state="available")
    ring2 = await m2.maybe_event("ring", 5)
    S.check(ring2 is not None and ring2.get("session_id") == first.session_id,
            "the next agent is rung for the missed customer, not for the later joiner", ring2)
    if ring2:
        await m2.request("agent.accept", session_id=first.session_id)
    await m1.request("agent.state", state="available")
    ring3 = await m1.maybe_event("ring", 5)
    S.check(ring3 is not None and ring3.get("session_id") == later.session_id,
            "the later joiner is rung next", ring3)
    if ring3:
        await m1.request("agent.accept", session_id=later.session_id)
        await finish_call(m1, later)
    await finish_call(m2, first)


@S.test
async def missed_until_max_offers():
    """One missed ring does not end a customer's wait, even when the only agent of the
    desk missed it (issue 12: it ended "missed"); the customer stays at the head and is
    rung again when the agent is available; after routing.max_offers (2 here) unanswered
    rings the session ends missed."""
    s1 = await srv.agent("ag_s1", available=True)
    cust = await srv.customer("miss1")
    S.check(await ring_for(s1, cust) is not None, "the only agent of the desk is rung")
    cancel = await s1.maybe_event("ring.cancelled", 6)
    S.check(cancel is not None and cancel.get("reason") == "timeout", "the ring times out", cancel)
    await s1.maybe_event("agent.state", 3, lambda e: e.get("state") == "not_ready")
    r = await s1.request("queue.watch")
    miss1 = [d for d in r.get("desks", []) if d.get("desk") == "miss1"]
    S.check(miss1 and miss1[0].get("waiting") == 1,
            "after the miss the customer is still waiting at the desk", r)
    S.check(not [e for e in cust.drain("session.ended")], "and was not told the session ended")
    await s1.request("agent.state", state="available")
    S.check(await ring_for(s1, cust) is not None, "the agent is rung again when available")
    ended = await cust.maybe_event("session.ended", 8)
    S.check(ended is not None and ended.get("reason") == "missed",
            "the second unanswered ring (max_offers 2) -> session.ended reason missed", ended)


@S.test
async def decline():
    """agent.decline: the agent goes not_ready (declined), the customer is offered to
    another agent; accepting or declining a ring that is not yours -> bad_state."""
    d1 = await srv.agent("ag_d1", available=True)
    d2 = await srv.agent("ag_d2")
    cust = await srv.customer("decl")
    S.check(await ring_for(d1, cust) is not None, "the available agent is rung")
    r = await d1.request("agent.decline", session_id=cust.session_id)
    S.check(r.get("type") == "agent.decline.ok" and r.get("session_id") == cust.session_id,
            "agent.decline -> agent.decline.ok", r)
    st = await d1.maybe_event("agent.state", 3, lambda e: e.get("state") == "not_ready")
    S.check(st is not None and st.get("reason") == "declined",
            "the declining agent goes not_ready with reason declined", st)
    await d2.request("agent.state", state="available")
    S.check(await ring_for(d2, cust) is not None, "the declined customer is offered to the next agent")
    r = await d1.request("agent.accept", session_id=cust.session_id)
    S.check_error(r, "bad_state", "accepting a ring that is not yours -> bad_state")
    r = await d2.request("agent.accept", session_id=cust.session_id)
    S.check_reply(r, "agent.accept", "the rung agent accepts")
    r = await d1.request("agent.decline", session_id=cust.session_id)
    S.check_error(r, "bad_state", "declining a call that is not ringing you -> bad_state")
    r = await d2.request("agent.accept", session_id=cust.session_id)
    S.check_error(r, "bad_state", "accepting twice -> bad_state")
    await finish_call(d2, cust)


@S.test
async def after_call_work_timer():
    """Without an outcome the after-call-work timer makes the agent available; an outcome
    may still be recorded later."""
    agent = await srv.agent("ag_acw", available=True)
    cust = await srv.customer("acw")
    await connect_call(agent, cust)
    await cust.request("customer.leave")
    ended = await agent.maybe_event("session.ended", 3)
    S.check(ended is not None and ended.get("reason") == "completed",
            "the customer leaving after the answer ends the call as completed", ended)
    acw = await agent.maybe_event("agent.state", 3, lambda e: e.get("state") == "after_call_work")
    S.check(acw is not None, "the agent enters after_call_work", acw)
    t0 = time.monotonic()
    av = await agent.maybe_event("agent.state", 5, lambda e: e.get("state") == "available")
    took = time.monotonic() - t0
    S.check(av is not None, "after after_call_work_s (2 s) the agent is available again", av)
    S.check(av is None or took <= 4.0, f"the ACW timer took about 2 s ({took:.1f} s)")
    r = await agent.request("agent.outcome", session_id=cust.session_id, code="callback",
                            notes="late outcome")
    S.check(r.get("type") == "agent.outcome.ok", "an outcome can be recorded after ACW ended", r)
    r = await agent.request("agent.outcome", session_id=cust.session_id, code="resolved")
    S.check(r.get("type") == "agent.outcome.ok", "an outcome can be corrected", r)
    other = await srv.customer("pos")  # a session this agent never answered
    r = await agent.request("agent.outcome", session_id=other.session_id, code="x")
    S.check_error(r, {"not_found", "forbidden"}, "an outcome for a session the agent did not "
                  "answer -> not_found/forbidden")
    await other.request("customer.leave")


@S.test
async def abandon():
    """Leaving while queued or ringing ends the session abandoned; while ringing the agent
    gets ring.cancelled customer_left and is rung for the next customer."""
    agent = await srv.agent("ag_ab", available=True)
    c1 = await srv.customer("aband")
    S.check(await ring_for(agent, c1) is not None, "the agent is rung")
    r = await c1.request("customer.leave")
    S.check(r.get("reason") == "abandoned", "leaving while rung -> reason abandoned", r)
    cancel = await agent.maybe_event("ring.cancelled", 3)
    S.check(cancel is not None and cancel.get("reason") == "customer_left"
            and cancel.get("session_id") == c1.session_id,
            "the agent gets ring.cancelled reason customer_left", cancel)
    c2 = await srv.customer("aband")
    S.check(await ring_for(agent, c2) is not None,
            "the agent stays available and is rung for the next customer")
    r = await agent.request("agent.accept", session_id=c2.session_id)
    await c2.maybe_event("session.answered", 3)
    r = await c2.request("customer.leave")
    S.check(r.get("reason") == "completed", "leaving after the answer -> reason completed", r)
    ev = await agent.maybe_event("session.ended", 3)
    S.check(ev is not None and ev.get("reason") == "completed",
            "the agent gets session.ended completed when the customer leaves", ev)


@S.test
async def priority_invite_first():
    """A customer who came with an invite code is served before normal joiners."""
    agent = await srv.agent("ag_prio")
    c1 = await srv.customer("prio")
    c2 = await srv.customer("prio")
    inv = await agent.request("invite.create", desk="prio", case_ref="CASE-PRIO")
    S.check_reply(inv, "invite.create", "the agent issues an invite for its desk")
    c3 = await srv.client()
    r = await c3.request("customer.redeem", code=inv.get("code", ""))
    S.check(r.get("type") == "customer.redeem.ok" and r.get("position") == 1
            and r.get("desk") == "prio", "the invited customer is placed at position 1", r)
    c3.session_id = r.get("session_id")
    S.check(await c1.wait_position(2) is not None, "the first normal joiner moves to position 2")
    S.check(await c2.wait_position(3) is not None, "the second normal joiner moves to position 3")
    await agent.request("agent.state", state="available")
    ring = await agent.maybe_event("ring", 5)
    S.check(ring is not None and ring.get("session_id") == c3.session_id
            and ring.get("priority") == "invite" and ring.get("case_ref") == "CASE-PRIO",
            "the agent is rung for the invited customer first (priority invite, case_ref)", ring)
    if ring:
        acc = await agent.request("agent.accept", session_id=c3.session_id)
        S.check(acc.get("case_ref") == "CASE-PRIO", "accept reply carries the case_ref", acc)
        await finish_call(agent, c3)
    for c in (c1, c2):
        await c.request("customer.leave")


@S.test
async def skill_matching():
    """An agent without the desk's skill is never rung for it."""
    ka = await srv.agent("ag_ka", available=True)
    cb = await srv.customer("sk_b")
    S.check(await ka.maybe_event("ring", 1.5) is None,
            "an agent without skill sk_b is not rung for an sk_b customer")
    ca = await srv.customer("sk_a")
    ring = await ka.maybe_event("ring", 3)
    S.check(ring is not None and ring.get("session_id") == ca.session_id,
            "the same agent is rung for an sk_a customer", ring)
    kb = await srv.agent("ag_kb", available=True)
    ring = await kb.maybe_event("ring", 3)
    S.check(ring is not None and ring.get("session_id") == cb.session_id,
            "an agent with skill sk_b is rung for the sk_b customer", ring)
    for c in (ca, cb):
        await c.request("customer.leave")


async def who_rings(agents, cust, timeout=4.0):
    """The username of the agent rung for cust (after both were offered the chance)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for a in agents:
            if a._take("ring", lambda e: e.get("session_id") == cust.session_id):
                return a.username
        await sleep(0.02)
    return None


async def trial(first, second, cust_desk, gap=0.15):
    """Both not_ready; `first` available, then `second`; a customer joins; returns who rang.
    The customer then leaves, so both agents are free again."""
    for a in (first, second):
        await a.request("agent.state", state="not_ready")
    await first.request("agent.state", state="available")
    await sleep(gap)
    await second.request("agent.state", state="available")
    cust = await first.server.customer(cust_desk)
    rung = await who_rings([first, second], cust)
    await cust.request("customer.leave")
    for a in (first, second):
        await a.maybe_event("ring.cancelled", 2 if a.username == rung else 0.05)
        a.drain()
    await cust.close()
    return rung


@S.test
async def longest_idle():
    """assignment longest_idle: among equal agents the one idle longest is rung."""
    i1 = await srv.agent("ag_i1")
    i2 = await srv.agent("ag_i2")
    results = []
    for k in range(6):
        first, second = (i1, i2) if k % 2 == 0 else (i2, i1)
        rung = await trial(first, second, "idle")
        results.append((first.username, rung))
    S.check(all(f == r for f, r in results),
            "the agent available longest is rung every time (6 trials, order alternated)",
            results)
    # After a call the other agent has been idle longer.
    await i1.request("agent.state", state="not_ready")
    await i2.request("agent.state", state="not_ready")
    await i1.request("agent.state", state="available")
    await sleep(0.15)
    await i2.request("agent.state", state="available")
    c = await srv.customer("idle")
    S.check(await who_rings([i1, i2], c) == "ag_i1", "the longest-idle agent takes the call")
    await i1.request("agent.accept", session_id=c.session_id)
    await finish_call(i1, c)
    c2 = await srv.customer("idle")
    S.check(await who_rings([i1, i2], c2) == "ag_i2",
            "after a call, the other agent (idle longer) is rung next")
    await c2.request("customer.leave")


@S.test
async def random_assignment():
    """assignment random: over many trials both equal agents get rings, even though one
    of them is always the longest idle."""
    global rnd
    rnd = S.server(config={"routing": {"desks": "rnd", "assignment": "random"}}, name="random")
    rnd.add_account("ag_r1", "agent", ["rnd"])
    rnd.add_account("ag_r2", "agent", ["rnd"])
    rnd.start()
    r1 = await rnd.agent("ag_r1")
    r2 = await rnd.agent("ag_r2")
    counts = {"ag_r1": 0, "ag_r2": 0, None: 0}
    for _ in range(20):
        counts[await trial(r1, r2, "rnd", gap=0.05)] += 1
    S.check(counts[None] == 0, "every trial rang one agent", counts)
    S.check(counts["ag_r1"] > 0 and counts["ag_r2"] > 0,
            f"both agents were rung over 20 trials (r1 {counts['ag_r1']}, r2 {counts['ag_r2']})")


def tiny_png():
    """A valid 1x1 PNG."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@S.test
async def evidence_upload():
    """POST /api/v1/evidence: the answering agent stores a still (201 with id, sha256,
    bytes); wrong type or size 400; no token 401; ops 403; another agent's or unknown
    session 404."""
    agent = await srv.agent("ag_ev", available=True)
    other = await srv.agent("ag_ev2")
    ops = await srv.login("ops_ev")
    cust = await srv.customer("id_check")
    await connect_call(agent, cust)
    token = agent.login_reply.get("auth_token")
    path = f"/api/v1/evidence?session_id={cust.session_id}"
    png = tiny_png()
    status, body = await srv.ahttp_post(path, png, "image/png", token)
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    S.check(status == 201 and isinstance(doc.get("id"), int)
            and doc.get("sha256") == hashlib.sha256(png).hexdigest()
            and doc.get("bytes") == len(png),
            "the answering agent's PNG -> 201 with id, sha256 and bytes", (status, body))
    status, _ = await srv.ahttp_post(path, b"hello", "text/plain", token)
    S.check(status == 400, "a text/plain body -> 400", status)
    status, _ = await srv.ahttp_post(path, b"\xff" * (8 * 1024 * 1024 + 1), "image/jpeg", token)
    S.check(status in (400, 413), "a body over 8 MiB -> 400", status)
    status, _ = await srv.ahttp_post(path, png, "image/png", None)
    S.check(status == 401, "no token -> 401", status)
    status, _ = await srv.ahttp_post(path, png, "image/png", "0" * 32)
    S.check(status == 401, "an unknown token -> 401", status)
    status, _ = await srv.ahttp_post(path, png, "image/png", ops.login_reply.get("auth_token"))
    S.check(status == 403, "an ops token -> 403", status)
    status, _ = await srv.ahttp_post(path, png, "image/png", other.login_reply.get("auth_token"))
    S.check(status == 404, "an agent who did not answer the session -> 404", status)
    status, _ = await srv.ahttp_post("/api/v1/evidence?session_id=999999", png, "image/png", token)
    S.check(status == 404, "an unknown session -> 404", status)
    status, _ = await srv.ahttp_post("/api/v1/evidence?session_id=abc", png, "image/png", token)
    S.check(status in (400, 404), "a malformed session_id -> 400", status)
    status, _ = await srv.ahttp_post(path, png, "image/png", token)
    S.check(status == 201, "the agent can add a second still", status)
    await finish_call(agent, cust)


@S.test
async def still_healthy():
    """The servers are still up and healthy after everything above."""
    status, body = await srv.ahttp_get("/healthz")
    S.check(status == 200, "/healthz answers 200", (status, body))
    S.check(srv.alive(), "the lifecycle server is still running")


if __name__ == "__main__":
    S.main()
