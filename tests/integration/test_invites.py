#!/usr/bin/python3
"""Integration: invite codes (docs/protocol.md, "Invite codes" and "Limits").

Issuing (format, link, validity), redeeming (jumps the desk's queue, case_ref on the
ring), single use, one error for unknown and used codes, wrong guesses at a code's
locator that never burn it, throttling an address after
invites.address_failures failures, a race between two redeemers, and the redemption
recorded in the export. Expiry itself needs >= 30 s and is left to the unit tests.

Different client addresses (127.0.0.2, 127.0.0.3, ...) keep the per-address
failure counts of the checks apart.
"""

import asyncio
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import INVITE_ALPHABET, Suite, code_with_locator, random_code  # noqa: E402

S = Suite("invites")
srv = None
CODE_RE = re.compile(rf"[{INVITE_ALPHABET}]{{4}}-[{INVITE_ALPHABET}]{{4}}-[{INVITE_ALPHABET}]{{4}}")
redeemed_session = {}


async def issue(agent, case_ref, **kw):
    r = await agent.request("invite.create", case_ref=case_ref, **kw)
    if r.get("type") != "invite.create.ok":
        raise RuntimeError(f"invite.create: {r}")
    return r


@S.test
async def setup():
    """A server with the default invite limits (5 attempts a code, 10 failures an address)."""
    global srv
    srv = S.server(config={"invites": {"validity_s": 600, "max_validity_s": 3600,
                                       "max_attempts": 5, "address_failures": 10}},
                   name="invites")
    srv.add_account("urgent", "agent", ["urgent_sim"])
    srv.add_account("bband", "agent", ["broadband"])
    srv.add_account("boss", "ops", [])
    srv.start()
    S.check(srv.alive(), "server started")


@S.test
async def issue_format():
    """invite.create: XXXX-XXXX-XXXX from the alphabet, link PUBLIC_URL/i/CODE, validity."""
    agent = await srv.agent("urgent")
    before = time.time() * 1000
    r = await issue(agent, "CASE-FMT")
    code = r.get("code", "")
    S.check(CODE_RE.fullmatch(code) is not None, f"the code has the documented format ({code})")
    S.check(r.get("link") == f"{srv.public_url}/i/{code}",
            "the link is PUBLIC_URL/i/CODE", r.get("link"))
    S.check(r.get("desk") == "urgent_sim", "the desk defaults to urgent_sim", r)
    S.check(r.get("valid_s") == 600, "valid_s defaults to invites.validity_s (600)", r)
    exp = r.get("expires_at")
    S.check(isinstance(exp, (int, float)) and before + 600_000 - 5000 <= exp
            <= time.time() * 1000 + 600_000 + 5000,
            "expires_at is about now + 600 s, in ms since the epoch", r)
    r2 = await issue(agent, "CASE-FMT-2", valid_s=60, note="lost phone, SIM 1234")
    S.check(r2.get("valid_s") == 60, "an explicit valid_s is honoured", r2)
    S.check(r2.get("code") != code, "two invites get different codes")
    codes = set()
    for i in range(20):
        codes.add((await issue(agent, f"CASE-U{i}"))["code"])
    S.check(len(codes) == 20 and all(CODE_RE.fullmatch(c) for c in codes),
            "20 more codes are well-formed and all different")

    r = await agent.request("invite.create", case_ref="CASE-X", desk="no_such_desk")
    S.check_error(r, "unknown_desk", "an unknown desk -> unknown_desk")
    ops = await srv.login("boss")
    r = await ops.request("invite.create", case_ref="CASE-OPS")
    S.check_reply(r, "invite.create", "an ops account may issue invites")
    cust = await srv.customer("broadband")
    r = await cust.request("invite.create", case_ref="CASE-X")
    S.check_error(r, "forbidden", "a customer may not issue invites (forbidden)")
    await cust.request("customer.leave")


@S.test
async def redeem_jumps_queue():
    """A redeemed code is served before customers already waiting at that desk; dashes,
    spaces and case are ignored."""
    agent = await srv.agent("urgent")
    c1 = await srv.customer("urgent_sim")
    c2 = await srv.customer("urgent_sim")
    inv = await issue(agent, "CASE-INV-1", note="SIM swap")
    typed = inv["code"].replace("-", " ").lower()
    c3 = await srv.client()
    r = await c3.request("customer.redeem", code=typed)
    S.check(r.get("type") == "customer.redeem.ok", f"redeeming '{typed}' works", r)
    S.check(r.get("desk") == "urgent_sim" and r.get("position") == 1
            and isinstance(r.get("session_id"), int)
            and re.fullmatch(r"[0-9a-f]{32}", str(r.get("token"))) is not None
            and isinstance(r.get("wait_s"), (int, float)),
            "the redeem reply is as customer.join's, at position 1", r)
    c3.session_id = r.get("session_id")
    redeemed_session["id"] = c3.session_id
    S.check(await c1.wait_position(2) is not None, "the first waiting customer moves to 2")
    S.check(await c2.wait_position(3) is not None, "the second waiting customer moves to 3")
    await agent.request("agent.state", state="available")
    ring = await agent.maybe_event("ring", 5)
    S.check(ring is not None and ring.get("session_id") == c3.session_id
            and ring.get("priority") == "invite" and ring.get("case_ref") == "CASE-INV-1",
            "the agent is rung for the invited customer first, with its case_ref", ring)
    acc = await agent.request("agent.accept", session_id=c3.session_id)
    S.check(acc.get("case_ref") == "CASE-INV-1" and acc.get("note") == "SIM swap",
            "agent.accept.ok carries the invite's case_ref and note", acc)
    await c3.request("hangup")
    await agent.maybe_event("session.ended", 3)
    await agent.request("agent.outcome", session_id=c3.session_id, code="sim_resumed")
    ring = await agent.maybe_event("ring", 5)
    S.check(ring is not None and ring.get("session_id") == c1.session_id
            and ring.get("priority") == "normal",
            "then the longest-waiting normal customer is rung", ring)
    await c1.request("customer.leave")
    await c2.request("customer.leave")
    await agent.request("agent.state", state="not_ready")

    again = await (await srv.client()).request("customer.redeem", code=inv["code"])
    S.check_error(again, "invalid_code", "a used code -> invalid_code")
    unknown = await (await srv.client()).request("customer.redeem", code=random_code())
    S.check_error(unknown, "invalid_code", "an unknown code -> invalid_code")
    S.check(again.get("message") == unknown.get("message"),
            "used and unknown codes get the same message", (again, unknown))
    odd = await (await srv.client(source="127.0.0.4")).request("customer.redeem", code="hello")
    S.check_error(odd, {"invalid_code", "bad_request"},
                  "a malformed code -> invalid_code (or bad_request)")


@S.test
async def guesses_do_not_burn():
    """Wrong guesses sharing the code's first four characters, from many addresses, do not
    destroy the customer's code (issue 12: five burned it): the right code still works."""
    agent = await srv.agent("urgent")
    inv = await issue(agent, "CASE-BURN")
    results = []
    for i in range(8):
        guesser = await srv.client(source=f"127.0.3.{i + 1}")
        r = await guesser.request("customer.redeem", code=code_with_locator(inv["code"]))
        results.append(r.get("code"))
        await guesser.close()
    S.check(results == ["invalid_code"] * 8, "eight wrong guesses -> invalid_code each", results)
    other = await srv.client()
    r = await other.request("customer.redeem", code=inv["code"])
    S.check(r.get("type") == "customer.redeem.ok", "the right code still works", r)
    await other.request("customer.leave")


@S.test
async def throttle_address():
    """After address_failures (10) failures from one address, that address gets
    `throttled` (with retry_after_s), even for a good code; other addresses are unaffected."""
    agent = await srv.agent("urgent")
    good = await issue(agent, "CASE-THR")
    bad = await srv.client(source="127.0.0.3")
    codes = []
    for _ in range(10):
        codes.append((await bad.request("customer.redeem", code=random_code())).get("code"))
    S.check(codes == ["invalid_code"] * 10, "ten unknown codes -> invalid_code each", codes)
    r = await bad.request("customer.redeem", code=random_code())
    S.check_error(r, "throttled", "the 11th attempt from that address -> throttled")
    S.check(isinstance(r.get("retry_after_s"), (int, float)) and r["retry_after_s"] > 0,
            "throttled carries a positive retry_after_s", r)
    r = await bad.request("customer.redeem", code=good["code"])
    S.check_error(r, "throttled", "a throttled address cannot redeem even a good code")
    fresh = await srv.client(source="127.0.0.3")
    r = await fresh.request("customer.redeem", code=good["code"])
    S.check_error(r, "throttled", "a new connection from the same address is throttled too")
    elsewhere = await srv.client(source="127.0.0.6")
    r = await elsewhere.request("customer.redeem", code=good["code"])
    S.check_reply(r, "customer.redeem", "the same good code works from another address")
    if r.get("type") == "customer.redeem.ok":
        await elsewhere.request("customer.leave")


@S.test
async def concurrent_redeem():
    """Two clients redeeming one code at the same moment: exactly one wins."""
    agent = await srv.agent("urgent")
    for round_ in range(3):
        inv = await issue(agent, f"CASE-RACE-{round_}")
        a = await srv.client(source="127.0.0.7")
        b = await srv.client(source="127.0.0.8")
        ra, rb = await asyncio.gather(a.request("customer.redeem", code=inv["code"]),
                                      b.request("customer.redeem", code=inv["code"]))
        types = sorted(r.get("code") if r.get("type") == "error" else r.get("type")
                       for r in (ra, rb))
        S.check(types == ["customer.redeem.ok", "invalid_code"],
                f"race {round_ + 1}: exactly one redeemer wins, the other gets invalid_code",
                (ra, rb))
        for c, r in ((a, ra), (b, rb)):
            if r.get("type") == "customer.redeem.ok":
                await c.request("customer.leave")
        await a.close()
        await b.close()


@S.test
async def export_records_invite():
    """export-csv shows the redeemed session with its case_ref, its invite and its times."""
    rows = srv.export_csv()
    row = tchelper.session_row(rows, redeemed_session.get("id"))
    S.check(row is not None, "export-csv lists the redeemed session",
            f"{len(rows)} rows; columns {list(rows[0].keys()) if rows else []}")
    if row is None:
        return
    S.check(tchelper.find_col(row, "case_ref") == "CASE-INV-1", "its case_ref is CASE-INV-1", row)
    S.check(row.get("invite_id") not in (None, "") and row.get("priority") == "1",
            "the session is linked to its invite (invite_id, priority 1)", row)
    S.check(row.get("queued_at") not in (None, "") and row.get("answered_at") not in (None, ""),
            "the redemption (queued_at) and answer times are recorded", row)
    S.check(tchelper.find_col(row, "end_reason", "reason") == "completed"
            and tchelper.find_col(row, "outcome") == "sim_resumed",
            "the session ended completed with the agent's outcome", row)


if __name__ == "__main__":
    S.main()
