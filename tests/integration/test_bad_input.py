#!/usr/bin/python3
"""Integration: untrusted input (docs/protocol.md "Error codes" and "Limits"; DESIGN.md
"Trust boundaries").

Oversized messages close with 1009; malformed JSON gets bad_json and the connection stays
usable; unknown types, bad ids, and missing/ill-typed/out-of-range fields of every request
type get unknown_type/bad_request; wrong-role requests get forbidden; a foreign Origin is
refused (403); too many connections from one address are refused (429) while other
addresses still get in; a flood gets rate_limited then close 1008; and none of it touches
another customer's session or the server's health.
"""

import asyncio
import json
import os
import random
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
import websockets.exceptions  # noqa: E402
from tchelper import FAKE_SDP, Suite, random_code, sleep  # noqa: E402

S = Suite("bad_input")
srv = None      # generous limits: for the field checks
tight = None    # connections_per_address 3, 5 messages/s, burst 10

BAD = "bad_request"


@S.test
async def setup():
    """Two servers: one with generous limits, one with tight connection and rate limits."""
    global srv, tight
    srv = S.server(config={"routing": {"desks": "broadband,iso,bi,urgent_sim",
                                       "ring_timeout_s": 30}}, name="badinput")
    srv.add_account("agent", "agent", ["bi", "urgent_sim"])
    srv.add_account("ops", "ops", [])
    srv.start()
    tight = S.server(config={"limits": {"connections_per_address": 3, "messages_per_s": 5,
                                        "message_burst": 10}}, name="tight")
    tight.start()
    S.check(srv.alive() and tight.alive(), "both servers started")


async def next_error(c, timeout=5.0):
    """The next error reply, whatever its id (for requests whose id is unusable)."""
    if c.null_replies:
        return c.null_replies.pop(0)
    ev = c._take("error", None)
    if ev:
        return ev
    try:
        return await c.null_reply(timeout)
    except tchelper.Timeout:
        return c._take("error", None)


@S.test
async def oversized_messages():
    """A frame, or a fragmented message, over max_message_bytes closes the connection with
    1009; a message just under the limit is fine."""
    c = await srv.client()
    near = '{"type":"hello","id":1,"pad":"' + "x" * (65536 - 64) + '"}'
    r = await c.request_raw(near, 1)
    S.check(r.get("type") in ("hello.ok", "error") and c.close_code is None,
            f"a {len(near)}-byte message is answered, not refused", r)
    await c.send_raw('{"type":"hello","id":2,"pad":"' + "x" * 70000 + '"}')
    S.check(await c.wait_closed(5) == 1009, "a 70 000-byte frame -> close 1009", c.close_code)

    c2 = await srv.client()
    big = '{"type":"hello","id":3,"pad":"' + "y" * 90000 + '"}'
    await c2.send_raw([big[i:i + 30000] for i in range(0, len(big), 30000)])
    S.check(await c2.wait_closed(5) == 1009, "a 90 000-byte message in 30 000-byte fragments -> "
            "close 1009", c2.close_code)


@S.test
async def malformed_json():
    """Frames that are not a JSON object get bad_json with id null; the connection stays
    usable."""
    c = await srv.client()
    for frame in ["{not json", "[1,2,3]", "42", '"hello"', "", "null", '{"type":"hello"',
                  "\u0000\u0001", "{" * 5000]:
        await c.send_raw(frame)
        r = await next_error(c)
        S.check(r is not None and r.get("code") == "bad_json" and r.get("id") is None,
                f"{frame[:20]!r} -> bad_json with id null", r)
    r = await c.request("hello", protocol=1)
    S.check_reply(r, "hello", "the connection still answers hello afterwards")
    S.check(r.get("protocol") == 1 and r.get("max_message_bytes") == 65536
            and "broadband" in (r.get("desks") or []),
            "hello.ok has protocol, desks and max_message_bytes", r)


@S.test
async def unknown_type_and_bad_ids():
    """Unknown types get unknown_type with the id echoed; a missing or ill-typed id or type
    gets bad_request."""
    c = await srv.client()
    r = await c.request("no.such.thing")
    S.check_error(r, "unknown_type", "an unknown type -> unknown_type")
    r = await c.request_raw({"type": "nope", "id": "req-abc"}, "req-abc")
    S.check(r.get("code") == "unknown_type" and r.get("id") == "req-abc",
            "a string id is echoed", r)
    long_id = "i" * 64
    r = await c.request_raw({"type": "hello", "id": long_id}, long_id)
    S.check_reply(r, "hello", "a 64-character string id is accepted")
    r = await c.request_raw({"type": "hello", "id": 2 ** 53}, 2 ** 53)
    S.check_reply(r, "hello", "id 2^53 is accepted")
    r = await c.request_raw({"type": "hello", "id": 0}, 0)
    S.check_reply(r, "hello", "id 0 is accepted")
    for frame, what in [({"type": "hello"}, "no id"),
                        ({"type": "hello", "id": 1.5}, "a fractional id"),
                        ({"type": "hello", "id": -1}, "a negative id"),
                        ({"type": "hello", "id": 2 ** 53 + 1}, "an id above 2^53"),
                        ({"type": "hello", "id": "i" * 65}, "a 65-character id"),
                        ({"type": "hello", "id": {"a": 1}}, "an object id"),
                        ({"type": "hello", "id": [1]}, "an array id"),
                        ({"type": "hello", "id": True}, "a boolean id")]:
        await c.send(frame)
        r = await next_error(c)
        S.check(r is not None and r.get("code") == BAD, f"{what} -> bad_request", r)
    r = await c.request_raw({"id": 77}, 77)
    S.check_error(r, BAD, "a request without type -> bad_request")
    r = await c.request_raw({"type": 5, "id": 78}, 78)
    S.check_error(r, BAD, "a non-string type -> bad_request")
    r = await c.request("hello", protocol=2)
    S.check_error(r, "unsupported_version", "hello protocol 2 -> unsupported_version")
    r = await c.request("hello", protocol="1")
    S.check_error(r, BAD, "hello protocol '1' (a string) -> bad_request")


async def expect_bad(c, type_, cases, codes=BAD):
    """Sends type_ with each field set in cases; each must get an error in codes."""
    for fields in cases:
        r = await c.request(type_, **fields)
        S.check_error(r, codes, f"{type_} {tchelper.short(fields, 80)} -> "
                      f"{codes if isinstance(codes, str) else '/'.join(sorted(codes))}")


@S.test
async def bad_fields_anonymous():
    """hello, login, customer.join/redeem/resume with missing or ill-typed fields."""
    c = await srv.client()
    await expect_bad(c, "login", [{}, {"username": "agent"}, {"password": "x"},
                                  {"username": 5, "password": "x"},
                                  {"username": "agent", "password": None},
                                  {"username": ["agent"], "password": "x"}])
    await expect_bad(c, "customer.join", [{}, {"desk": 5}, {"desk": None}, {"desk": ["iso"]}])
    r = await c.request("customer.join", desk="no_such_desk")
    S.check_error(r, "unknown_desk", "customer.join an unknown desk -> unknown_desk")
    r = await c.request("customer.join", desk="d" * 5000)
    S.check_error(r, {"unknown_desk", BAD}, "customer.join a 5000-char desk -> unknown_desk/"
                  "bad_request")
    await expect_bad(c, "customer.redeem", [{}, {"code": 12345}, {"code": None}])
    await expect_bad(c, "customer.resume", [{}, {"token": 5}, {"token": None}])
    r = await c.request("customer.resume", token="zz")
    S.check_error(r, {BAD, "not_found"}, "customer.resume a malformed token -> bad_request/"
                  "not_found")
    r = await c.request("hello")
    S.check_reply(r, "hello", "the anonymous connection is still usable")


@S.test
async def bad_fields_customer():
    """offer, candidate and customer.rate with missing, ill-typed or out-of-range fields."""
    c = await srv.customer("broadband")
    await expect_bad(c, "offer", [{}, {"sdp": 5}, {"sdp": None}, {"sdp": ["v=0"]}])
    for what, sdp in [("garbage", "hello"), ("a bare v=0", "v=0\r\n"),
                      ("no rtcp-mux", FAKE_SDP.replace("a=rtcp-mux\r\n", "")),
                      ("no BUNDLE", FAKE_SDP.replace("a=group:BUNDLE 0 1\r\n", "")),
                      ("no fingerprint", "".join(line + "\r\n" for line in FAKE_SDP.split("\r\n")
                                                 if line and "fingerprint" not in line)),
                      ("no ICE credentials", "".join(line + "\r\n" for line in FAKE_SDP.split("\r\n")
                                                     if line and "ice-" not in line)),
                      ("only PCMU audio", FAKE_SDP.replace("111 opus/48000/2", "0 PCMU/8000")
                       .replace("SAVPF 111", "SAVPF 0").replace("a=fmtp:111 minptime=10;useinbandfec=1\r\n", "")
                       .split("m=video")[0].replace("BUNDLE 0 1", "BUNDLE 0"))]:
        r = await c.request("offer", sdp=sdp)
        S.check_error(r, "bad_sdp", f"an offer with {what} -> bad_sdp")
    r = await c.request("offer", sdp=FAKE_SDP)
    S.check_reply(r, "offer", "a good offer is still answered after the bad ones")
    r = await c.request("ping")
    S.check_reply(r, "ping", "ping -> ping.ok")
    await expect_bad(c, "candidate", [{}, {"candidate": 5},
                                      {"candidate": "candidate:1", "sdpMid": 5},
                                      {"candidate": "candidate:1", "sdpMLineIndex": "0"},
                                      {"candidate": "candidate:1", "sdpMLineIndex": -1}])
    r = await c.request("customer.leave")
    S.check_reply(r, "customer.leave", "the customer leaves (to rate)")
    await expect_bad(c, "customer.rate", [{}, {"rating": "5"}, {"rating": 0}, {"rating": 6},
                                          {"rating": 4.5}, {"rating": None},
                                          {"rating": 5, "comment": "c" * 1001},
                                          {"rating": 5, "comment": 5},
                                          {"rating": 5, "token": 5}])
    r = await c.request("customer.rate", rating=3, comment="c" * 1000)
    S.check_reply(r, "customer.rate", "a valid rating (comment of 1000 chars) is then accepted")


@S.test
async def bad_fields_agent():
    """agent.state, agent.accept, agent.decline, agent.outcome, invite.create, offer with
    missing, ill-typed or out-of-range fields."""
    a = await srv.agent("agent")
    await expect_bad(a, "agent.state", [{}, {"state": 1}, {"state": "busy"}, {"state": None},
                                        {"state": "available", "reason": 5},
                                        {"state": "not_ready", "reason": "r" * 65}])
    await expect_bad(a, "agent.state", [{"state": "on_call"}, {"state": "ringing"},
                                        {"state": "offline"}], {BAD, "bad_state"})
    await expect_bad(a, "agent.accept", [{}, {"session_id": "1"}, {"session_id": 1.5},
                                         {"session_id": None}])
    await expect_bad(a, "agent.decline", [{}, {"session_id": "1"}, {"session_id": [1]}])
    await expect_bad(a, "agent.outcome", [{}, {"code": "ok"}, {"session_id": 1},
                                          {"session_id": "1", "code": "ok"},
                                          {"session_id": 1, "code": 5},
                                          {"session_id": 1, "code": "c" * 65},
                                          {"session_id": 1, "code": "ok", "notes": "n" * 2001},
                                          {"session_id": 1, "code": "ok", "notes": 5}])
    await expect_bad(a, "invite.create", [{}, {"case_ref": ""}, {"case_ref": 5},
                                          {"case_ref": "c" * 129},
                                          {"case_ref": "C1", "note": "n" * 501},
                                          {"case_ref": "C1", "note": 5},
                                          {"case_ref": "C1", "valid_s": "60"},
                                          {"case_ref": "C1", "desk": 5}])
    r = await a.request("invite.create", case_ref="c" * 128, note="n" * 500)
    S.check_reply(r, "invite.create", "invite.create at the length limits is accepted")
    r = await a.request("queue.watch")
    S.check(r.get("type") == "queue.watch.ok" and isinstance(r.get("desks"), list),
            "queue.watch.ok has a desks list", r)

    cust = await srv.customer("bi")
    await cust.request("offer", sdp=FAKE_SDP)
    await a.request("agent.state", state="available")
    await a.expect_event("ring", 5)
    await a.request("agent.accept", session_id=cust.session_id)
    await expect_bad(a, "offer", [{}, {"sdp": 5}, {"sdp": None}])
    await expect_bad(a, "candidate", [{}, {"candidate": 5}])
    r = await a.request("hangup")
    S.check_reply(r, "hangup", "the agent's call still works after the bad requests")


@S.test
async def wrong_role():
    """A request the connection's role may not make gets forbidden."""
    anon = await srv.client()
    for t, f in [("agent.state", {"state": "available"}), ("agent.accept", {"session_id": 1}),
                 ("agent.decline", {"session_id": 1}),
                 ("agent.outcome", {"session_id": 1, "code": "x"}),
                 ("invite.create", {"case_ref": "X"}), ("stats.live", {}), ("queue.watch", {}),
                 ("logout", {}), ("offer", {"sdp": FAKE_SDP}),
                 ("candidate", {"candidate": "candidate:1"}), ("hangup", {}),
                 ("customer.leave", {})]:
        S.check_error(await anon.request(t, **f), "forbidden", f"anonymous {t} -> forbidden")
    cust = await srv.customer("broadband")
    r = await cust.request("login", username="agent", password=tchelper.PASSWORD)
    S.check_error(r, {"forbidden", "bad_state"}, "customer login -> forbidden/bad_state "
                  "(one role per connection)")
    for t, f in [("agent.state", {"state": "available"}),
                 ("agent.accept", {"session_id": cust.session_id}),
                 ("agent.outcome", {"session_id": cust.session_id, "code": "x"}),
                 ("invite.create", {"case_ref": "X"}), ("stats.live", {}), ("queue.watch", {}),
                 ("logout", {})]:
        S.check_error(await cust.request(t, **f), "forbidden", f"customer {t} -> forbidden")
    agent = await srv.agent("agent")
    for t, f in [("customer.join", {"desk": "bi"}), ("customer.redeem", {"code": random_code()}),
                 ("customer.resume", {"token": cust.token})]:
        S.check_error(await agent.request(t, **f), {"forbidden", "bad_state"},
                      f"agent {t} -> forbidden/bad_state (one role per connection)")
    for t, f in [("customer.leave", {}), ("customer.rate", {"rating": 5}), ("stats.live", {})]:
        S.check_error(await agent.request(t, **f), "forbidden", f"agent {t} -> forbidden")
    ops = await srv.login("ops")
    r = await ops.request("customer.join", desk="broadband")
    S.check_error(r, {"forbidden", "bad_state"}, "ops customer.join -> forbidden/bad_state")
    for t, f in [("agent.state", {"state": "available"}),
                 ("agent.accept", {"session_id": cust.session_id}), ("offer", {"sdp": FAKE_SDP})]:
        S.check_error(await ops.request(t, **f), "forbidden", f"ops {t} -> forbidden")
    r = await ops.request("stats.live")
    S.check_reply(r, "stats.live", "ops stats.live still works")
    await cust.request("customer.leave")


def login_then_joins(port, origin):
    """On one hand-made connection, a login and three customer requests in one TCP
    write: the server reads them all before the login's check can come back (it comes
    back through the main loop), so they meet a pending login every time. Then an
    agent.state and a customer.leave after the login. Returns the replies by id."""
    frames = [{"type": "login", "id": 1, "username": "agent", "password": tchelper.PASSWORD},
              {"type": "customer.join", "id": 2, "desk": "broadband"},
              {"type": "customer.redeem", "id": 3, "code": random_code()},
              {"type": "customer.resume", "id": 4, "token": "0" * 32}]
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with tchelper.insecure_ssl().wrap_socket(raw, server_hostname="localhost") as s:
        if tchelper.hand_upgrade(s, port, origin) != 101:
            return {}
        s.sendall(b"".join(tchelper.ws_frame(json.dumps(f)) for f in frames))
        texts = tchelper.hand_read_texts(s, 4, 10)
        s.sendall(tchelper.ws_frame(json.dumps({"type": "agent.state", "id": 5,
                                                "state": "not_ready"}))
                  + tchelper.ws_frame(json.dumps({"type": "customer.leave", "id": 6})))
        texts += tchelper.hand_read_texts(s, 2, 10)
    replies = {}
    for t in texts:
        m = json.loads(t)
        if "id" in m:
            replies[m["id"]] = m
    return replies


def connects(family, host, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@S.test
async def listener_binds_only_its_address():
    """server.address = 127.0.0.1 listens there only (issue 12 item 4: it listened on
    every address, IPv6 included)."""
    S.check(connects(socket.AF_INET, "127.0.0.1", srv.port), "127.0.0.1 answers")
    S.check(not connects(socket.AF_INET, "127.0.0.2", srv.port),
            "127.0.0.2 (another loopback address) does not")
    if socket.has_ipv6:
        S.check(not connects(socket.AF_INET6, "::1", srv.port), "::1 does not")


def negotiated_alpn(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.selected_alpn_protocol()


@S.test
async def no_http2():
    """A browser offering h2 gets HTTP/1.1: over HTTP/2 the WebSocket is a stream of the
    page's connection, and a closed tab only reset that stream, which the server never
    noticed (issue 11: the agent's call then ended 'failed' instead of waiting)."""
    S.check(negotiated_alpn(srv.port) == "http/1.1", "ALPN picks http/1.1 over h2",
            negotiated_alpn(srv.port))


@S.test
async def join_while_login_pending():
    """Customer requests sent while the same connection's login is being checked are
    refused, and the login makes an agent, not a customer too (issue 12 item 9: the join
    was accepted and the connection became both)."""
    replies = await asyncio.to_thread(login_then_joins, srv.port, srv.origin)
    S.check(replies.get(1, {}).get("type") == "login.ok", "the login succeeds", replies.get(1))
    for rid, t in ((2, "customer.join"), (3, "customer.redeem"), (4, "customer.resume")):
        r = replies.get(rid, {})
        S.check(r.get("code") == "bad_state", f"{t} while the login is pending -> bad_state", r)
    S.check(replies.get(5, {}).get("type") == "agent.state.ok",
            "after the login the connection is an agent", replies.get(5))
    S.check(replies.get(6, {}).get("code") == "forbidden", "and not a customer", replies.get(6))


@S.test
async def foreign_origin():
    """Upgrades from an origin that is not the server's own nor allowed are refused (403)."""
    for origin in ["https://evil.example", f"https://localhost:{srv.port + 1}",
                   f"http://localhost:{srv.port}", "null"]:
        status = await srv.araw_upgrade(origin=origin)
        S.check(status == 403, f"Origin {origin} -> HTTP 403", status)
    status = await srv.araw_upgrade()
    S.check(status == 101, "the server's own origin -> 101 (same hand-made request)", status)
    c = await srv.client(origin=f"https://127.0.0.1:{srv.port}")
    S.check_reply(await c.request("hello"), "hello", "an allowed_origins entry gets in")


@S.test
async def connections_per_address():
    """Over connections_per_address (3) from one address the upgrade is refused with 429;
    other addresses and the existing connections still work; a closed one frees a slot."""
    held = [await tight.client() for _ in range(3)]
    status = await tight.araw_upgrade()
    S.check(status == 429, "a 4th connection from 127.0.0.1 -> HTTP 429", status)
    other = await tight.client(source="127.0.0.2")
    S.check_reply(await other.request("hello"), "hello", "a connection from 127.0.0.2 still works")
    for i, c in enumerate(held):
        S.check_reply(await c.request("hello"), "hello", f"held connection {i + 1} still works")
    await held[0].close()
    await sleep(0.3)
    again = await tight.client()
    S.check_reply(await again.request("hello"), "hello", "after one closes, a new one gets in")


@S.test
async def rate_limit():
    """Over messages_per_s (5, burst 10) requests get rate_limited; after a pause the
    connection works again; a connection that keeps flooding is closed with 1008."""
    c = await tight.client()
    ids = list(range(500, 520))
    for rid in ids:
        await c.send({"type": "hello", "id": rid})
    await count_replies(c, ids, 5)
    by_id = {e.get("id"): e for e in c.drain() if e.get("id") in ids}
    nulls = [e for e in c.null_replies if e.get("code") == "rate_limited"]
    c.null_replies.clear()
    ok = sum(e.get("type") == "hello.ok" for e in by_id.values())
    limited = sum(e.get("code") == "rate_limited" for e in by_id.values()) + len(nulls)
    S.check(ok + limited == 20 and 10 <= ok <= 12 and limited >= 8,
            f"a burst of 20: about 10 answered, the rest rate_limited ({ok} ok, {limited} limited)")
    S.check(not nulls, "rate_limited replies echo the request's id (every request gets its "
            "own reply)", f"{len(nulls)} rate_limited replies had id null")
    await sleep(1.5)
    S.check_reply(await c.request("hello"), "hello", "after a pause requests are answered again")

    bystander = await tight.client(source="127.0.0.3")
    flood = await tight.client()
    try:
        for i in range(200):  # about 500 a second, reading replies as they come
            if flood.closed.is_set():
                break
            await flood.send({"type": "hello", "id": 10_000 + i})
            await sleep(0.002)
    except websockets.exceptions.ConnectionClosed:
        pass
    S.check(await flood.wait_closed(5) == 1008,
            f"a flood of requests -> close 1008 (after {i + 1} sent)", flood.close_code)
    S.check_reply(await bystander.request("hello"), "hello",
                  "another connection is not affected by the flood")


@S.test
async def isolation_and_garbage():
    """Bad input, a fuzzed request stream and random frames on other connections change
    nothing of a queued customer's session; every fuzzed request gets one reply."""
    ahead = await srv.customer("iso")
    victim = await srv.customer("iso")
    bad = await srv.customer("iso")
    for frame in ["{oops", '{"type":"customer.leave","id":"x","session_id":%d}' % victim.session_id,
                  '{"type":"hangup","id":1}', '{"type":"customer.resume","id":2,"token":"%s"}'
                  % ("0" * 32)]:
        await bad.send_raw(frame)
    await sleep(0.3)
    await bad.send_raw("z" * 70000)
    await bad.wait_closed(3)
    snoop = await srv.client()
    r = await snoop.request("customer.leave")
    S.check_error(r, "forbidden", "an anonymous connection cannot leave for someone else")
    r = await snoop.request("customer.rate", rating=1, token=victim.token[:31] + "0")
    S.check(r.get("type") == "error", "a near-miss token rates nothing", r)

    rnd = random.Random(7)
    fuzz = await srv.client()
    sent = 0
    for i in range(300):
        await fuzz.send_raw(random_request(rnd, 1_000_000 + i))
        sent += 1
    got = await count_replies(fuzz, range(1_000_000, 1_000_000 + sent), 10)
    S.check(got == sent, f"each of {sent} fuzzed requests got one reply ({got})",
            f"close code {fuzz.close_code}")
    binary = await srv.client()
    for _ in range(20):
        try:
            await binary.send_raw(os.urandom(rnd.randint(1, 2000)))
        except websockets.exceptions.ConnectionClosed:
            break
    await sleep(0.5)

    moved = [e for e in victim.drain() if e.get("type") in ("queue.update", "session.ended")
             and (e.get("type") == "session.ended" or e.get("position") != 2)]
    S.check(not moved, "the victim saw no change of position or end", moved)
    S.check_reply(await victim.request("hello"), "hello", "the victim's connection still works")
    look = await srv.client()
    r = await look.request("customer.resume", token=victim.token)
    S.check(r.get("state") == "queued" and r.get("position") == 2
            and r.get("session_id") == victim.session_id,
            "the victim's session is still queued at position 2", r)
    for c in (ahead, look):
        await c.request("customer.leave")


@S.test
async def http_garbage():
    """Random bytes on raw TCP and inside TLS, and nonsense HTTP requests: the server
    answers them or drops them, serves no file outside web_root, and stays healthy."""
    traversal = await random_bytes(srv.port)
    S.check(b"root:" not in traversal and not traversal.startswith(b"HTTP/1.1 200"),
            "a path-traversal request does not serve /etc/passwd", traversal[:80])
    await sleep(0.3)
    status = None
    try:
        status, _ = await srv.ahttp_get("/healthz")
    except OSError as e:
        status = e
    S.check(status == 200 and srv.alive(), "the server survives the garbage: /healthz 200", status)
    try:
        c = await srv.client()
        S.check_reply(await c.request("hello"), "hello", "WebSocket clients still get in")
    except OSError as e:
        S.check(False, "WebSocket clients still get in", e)


async def count_replies(c, ids, timeout):
    """How many of ids got a reply on c within timeout (replies nobody awaited are
    buffered as events; null-id replies count too, for frames that lost their id)."""
    want = set(ids)

    def got():
        return len(want & {e.get("id") for e in c.events if "id" in e}) + len(c.null_replies)

    deadline = asyncio.get_running_loop().time() + timeout
    while got() < len(want) and asyncio.get_running_loop().time() < deadline \
            and not c.closed.is_set():
        await sleep(0.1)
    return got()


TYPES = ["hello", "login", "logout", "customer.join", "customer.redeem", "customer.resume",
         "customer.leave", "customer.rate", "agent.state", "agent.accept", "agent.decline",
         "agent.outcome", "invite.create", "stats.live", "queue.watch", "offer", "answer",
         "candidate", "hangup", "nope"]
FIELDS = ["desk", "code", "token", "rating", "comment", "state", "reason", "session_id",
          "notes", "case_ref", "note", "valid_s", "sdp", "candidate", "sdpMid",
          "sdpMLineIndex", "protocol", "username"]


def random_value(rnd, depth=0):
    k = rnd.randrange(9 if depth < 2 else 6)
    return [lambda: rnd.randint(-2 ** 63, 2 ** 63), lambda: rnd.random() * 1e308,
            lambda: None, lambda: rnd.choice([True, False]),
            lambda: "".join(chr(rnd.randint(1, 0x2FFF)) for _ in range(rnd.randint(0, 40))),
            lambda: "a" * rnd.choice([0, 1, 63, 64, 65, 128, 129, 2001, 5000]),
            lambda: [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))],
            lambda: {"k": random_value(rnd, depth + 1)},
            lambda: rnd.choice(["broadband", "iso", "available", "not_ready", "0" * 32])][k]()


def random_request(rnd, rid):
    """A JSON request with a known id, a random type and random fields (no password, so no
    login is expensive)."""
    obj = {"type": rnd.choice(TYPES), "id": rid}
    for f in rnd.sample(FIELDS, rnd.randint(0, 4)):
        obj[f] = random_value(rnd)
    return json.dumps(obj)


async def random_bytes(port):
    """Random bytes on raw TCP, inside TLS, and as nonsense HTTP requests; returns what
    the server answered to a path-traversal request."""
    answers = {}

    def blast():
        for i in range(5):
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                try:
                    s.sendall(os.urandom(16384 * (i + 1)))
                    s.recv(100)
                except OSError:
                    pass
        ctx = tchelper.insecure_ssl()
        for req in [os.urandom(4096),
                    b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: !!!\r\n\r\n",
                    b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * 100000 + b"\r\n\r\n",
                    b"POST /api/v1/stats/live HTTP/1.1\r\nContent-Length: -5\r\n\r\n"]:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                        s.sendall(req)
                        answers[req[:30]] = s.recv(4096)
            except (OSError, ssl.SSLError):
                pass
    await asyncio.to_thread(blast)
    return answers.get(b"GET /../../../../etc/passwd HT", b"")


@S.test
async def client_that_does_not_read():
    """A client that sends requests but never reads the replies fills its socket and then
    its queue on the server, and is dropped ("not reading") instead of being held in
    memory; another client meanwhile is served as usual."""
    loose = S.server(config={"limits": {"messages_per_s": 10000, "message_burst": 100000}},
                     name="loose")
    loose.start()
    bystander = await loose.client()
    sent, received, ended = await asyncio.to_thread(flood_without_reading, loose.port, 40000)
    S.check(ended, f"the non-reading client was disconnected ({sent} requests sent, "
            f"{received} bytes read back afterwards)")
    S.check(received < sent * 100, "it was not sent every reply", received)
    S.check_reply(await bystander.request("hello"), "hello", "a bystander is served meanwhile")
    with open(loose.log_path, errors="replace") as f:
        S.check("not reading, closed" in f.read(), "the server log says why it was closed")


def flood_without_reading(port, count):
    """Upgrades by hand with a 4 KiB receive buffer, sends count requests whose replies are
    ~150 bytes each without reading any, then reads until the server ends the connection.
    Returns (sent, bytes read after the flood, whether the connection ended)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Long enough for a sanitizer build to read 40,000 requests: the replies must outgrow
    # the kernel's buffers (up to 4 MiB of send buffer) before the server gives up on us.
    raw.settimeout(60)
    raw.connect(("127.0.0.1", port))
    s = tchelper.insecure_ssl().wrap_socket(raw, server_hostname="localhost")
    tchelper.hand_upgrade(s, port)
    sent = 0
    try:
        for i in range(count):
            s.sendall(tchelper.ws_frame(json.dumps({"type": "hello", "id": f"{i:08d}" + "x" * 56})))
            sent += 1
    except OSError:
        pass
    received, ended = 0, False
    s.settimeout(10)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                ended = True
                break
            received += len(chunk)
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        ended = True
    except socket.timeout:
        pass
    s.close()
    return sent, received, ended


if __name__ == "__main__":
    S.main()
