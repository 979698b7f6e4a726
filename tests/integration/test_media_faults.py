#!/usr/bin/python3
"""What the relay drops, counts and passes on when a peer misbehaves, through the
real relay on loopback, with native test peers (tc-testpeer's fault options,
tools/peer/faults.h) and the live stats API (GET /api/v1/stats/live, ops token):

1. wrong fingerprint: a customer whose offer names a certificate that is not its
   own (one byte flipped) is failed by the relay's DTLS check (session.ended
   `failed`, media.state `failed`) and gets no decryptable RTP (no hold audio);
   a normal call on the same server at the same time is unaffected;
2. plain RTP before DTLS: N plain RTP packets sent once ICE is up and before
   DTLS are dropped and counted (the leg's `rx_dropped` >= N), none reaches the
   agent (they carry a FAULT flag the agent counts), and the call then works;
3. malformed RTCP: during a call, bursts of M SRTCP-protected compounds with bad
   RTCP inside (a packet of version 1, a length past the end, padding of 0, a
   PLI too short to hold a media SSRC): each burst grows `rx_dropped` by >= M,
   media still flows both ways afterwards, and the server stays healthy;
4. PLI: the customer's PLI count with and without an agent sending PLIs every
   250 ms differs by exactly what the agent sent (the relay adds the same
   bridging PLI to both calls; one in flight at hang-up is allowed), and the
   customer answers with keyframes that reach the agent;
5. hold audio: a queued customer hears the hold chime (D5 587 Hz, G4 392 Hz);
   after the answer it hears the agent's tone, not the chime. The agent sends
   880 Hz here, because its default 660 Hz cannot be told from the chime's E5;
6. hangup: both peers get session.ended, no media reaches either afterwards
   (each keeps listening 1.5 s), and the stats API shows no active call;
7. NACK: a customer that drops every 20th video packet on arrival (before SRTP,
   as if lost on the way) and NACKs it gets nearly all of them again from the
   relay's retransmission buffer, so its video loss stays near 0; the NACKs the
   relay cannot serve (every 10th also asks for a packet 2,000 back) reach the
   agent, the sender, and no others do; the relay counts the NACKs (nacks_rx).

Traffic goes only to 127.0.0.1 (`media.loopback = true`; the peers gather on
127.0.0.1 and ignore remote candidates that are not loopback).
"""

import asyncio
import json
import re
import statistics
import time

import tchelper
from tchelper import PASSWORD, Suite

AGENT_DELAY_S = 1.5
PLAIN_RTP = 20          # test 2
BAD_RTCP = 5            # test 3: compounds per kind
BAD_RTCP_AT_MS = 2000   # test 3: the first burst, from the customer's answer
BAD_RTCP_GAP_MS = 4000  # test 3: between kinds (> the relay's 2 s stats period)
AGENT_HZ = 880          # test 5
HOLD_NOTES = (587.33, 392.00)
LINGER_MS = 1500        # test 6
LOSS_EVERY = 20         # test 7: the customer drops every Nth video packet it gets

suite = Suite("media faults")
state = {}


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #

run_peer = tchelper.run_testpeer


def tail(text, n=12):
    return "\n".join(text.splitlines()[-n:])


def customer(srv, desk, duration, *extra, answer_timeout=30):
    return ["--url", srv.ws_url, "--role", "customer", "--desk", desk, "--duration",
            str(duration), "--answer-timeout", str(answer_timeout), *extra]


def agent(srv, user, duration, *extra):
    return ["--url", srv.ws_url, "--role", "agent", "--user", user, "--password-stdin",
            "--duration", str(duration), *extra]


async def call(srv, c_args, a_args, delay=AGENT_DELAY_S, c_env=None, a_env=None,
               during=None):
    """A customer, then an agent `delay` s later; `during` (an async function) runs
    alongside. Returns ((code, result, stderr) customer, (...) agent)."""
    c = asyncio.ensure_future(run_peer(c_args, env=c_env))
    await asyncio.sleep(delay)
    a = asyncio.ensure_future(run_peer(a_args, env=a_env, stdin=PASSWORD + "\n"))
    side = asyncio.ensure_future(during()) if during else None
    res = await asyncio.gather(c, a)
    if side:
        side.cancel()
        try:
            await side
        except BaseException:  # noqa: BLE001 - cancelled on purpose
            pass
    return res


def summary(r):
    if not r:
        return "no result line"
    keep = ("ok", "error", "session_id", "answered", "dtls_connected", "end_reason",
            "ended_at_ms", "media_states", "srtp_errors", "after_mark")
    out = {k: r.get(k) for k in keep}
    out["audio"] = {k: r["audio"].get(k) for k in ("sent", "received", "dominant_hz",
                                                   "hold_packets", "hold_voiced_windows")}
    out["video"] = {k: r["video"].get(k) for k in ("sent", "received", "lost",
                                                   "keyframes_sent", "keyframes_received")}
    out["rtcp"] = r.get("rtcp")
    f = r.get("faults")
    if f:
        out["faults"] = {k: v for k, v in f.items() if k != "tone_timeline"}
    return json.dumps(out)


def server_log(srv):
    with open(srv.log_path, errors="replace") as f:
        return f.read()


def log_lines(srv, pattern):
    return [line for line in server_log(srv).splitlines() if re.search(pattern, line)]


async def ops_token(srv):
    ops = await srv.login("faultops")
    return ops.login_reply["auth_token"]


async def live_stats(srv, token):
    status, body = await srv.ahttp_get("/api/v1/stats/live", token)
    if status != 200:
        raise RuntimeError(f"stats/live: {status} {body[:200]}")
    return json.loads(body)


def legs_of(stats, desk=None):
    """[(session_id, media dict)] of the active calls (of desk)."""
    return [(c["session_id"], c.get("media") or {}) for c in stats.get("active_calls", [])
            if desk is None or c.get("desk") == desk]


class StatsPoller:
    """Samples /api/v1/stats/live every `period` s: [(unix time, stats)]."""

    def __init__(self, srv, token, period=0.5):
        self.srv, self.token, self.period = srv, token, period
        self.samples = []

    async def run(self):
        while True:
            try:
                self.samples.append((time.time(), await live_stats(self.srv, self.token)))
            except Exception as e:  # noqa: BLE001 - a failed sample is logged, not fatal
                tchelper.log(f"   (stats sample failed: {e})")
            await asyncio.sleep(self.period)

    def series(self, session_id, side, field):
        """[(t, value)] of one leg's field, while the call was listed with media."""
        out = []
        for t, st in self.samples:
            for sid, media in legs_of(st):
                if sid == session_id and side in media:
                    out.append((t, media[side].get(field)))
        return out


def value_at(series, t):
    """The last value sampled at or before t (None if none)."""
    v = None
    for ts, val in series:
        if ts <= t:
            v = val
    return v


def near(hz, target, tol=0.03):
    return abs(hz - target) <= tol * target


# --------------------------------------------------------------------------- #
# tests
# --------------------------------------------------------------------------- #

@suite.test
async def setup():
    """a server with media on loopback, one agent per scenario, an ops account"""
    srv = suite.server(config={"media": {"workers": 1, "loopback": "true", "grace_s": 15},
                               "routing": {"ring_timeout_s": 10, "after_call_work_s": 2,
                                           "resume_window_s": 30}}, name="faults")
    srv.add_account("isoagent", skills=("broadband",))
    for name in ("plainagent", "rtcpagent", "pliagent0", "pliagent1", "holdagent",
                 "hangupagent", "nackagent"):
        srv.add_account(name)
    srv.add_account("faultops", "ops", [])
    srv.start()
    state["srv"] = srv


@suite.test
async def wrong_fingerprint():
    """1. an offer with a fingerprint that is not the peer's certificate: failed, no media"""
    srv = state["srv"]
    bad = asyncio.ensure_future(run_peer(customer(srv, "id_check", 8, "--bad-fingerprint",
                                                  "--linger-ms", "1500", answer_timeout=20)))
    # isolation: a normal call on another desk (the agent has only that skill), same time
    (nc_code, nc, nc_err), (na_code, na, na_err) = await call(
        srv, customer(srv, "broadband", 6, "--expect-tone", "660", "--max-loss", "0.01"),
        agent(srv, "isoagent", 8, "--expect-tone", "440", "--max-loss", "0.01"))
    b_code, b, b_err = await bad
    tchelper.log(f"bad customer: {summary(b)}")
    tchelper.log(f"normal customer: {summary(nc)}")
    tchelper.log(f"normal agent: {summary(na)}")
    if not suite.check(b is not None, "the bad-fingerprint customer reports",
                       f"exit {b_code}: {tail(b_err)}"):
        return
    sid = b["session_id"]
    lines = log_lines(srv, rf"session {sid}\b|media {sid}/|does not match its fingerprint")
    tchelper.log("relay log:\n    " + "\n    ".join(lines[-8:]))
    suite.check(any("does not match its fingerprint" in l for l in lines),
                "the relay's DTLS check rejected the certificate", lines)
    suite.check(b["end_reason"] == "failed", "session.ended reached the customer with reason "
                "failed", (b["end_reason"], b["media_states"]))
    suite.check("failed" in b["media_states"], "media.state failed reached the customer",
                b["media_states"])
    f = b.get("faults") or {}
    suite.check(b["audio"]["received"] == 0 and b["video"]["received"] == 0 and
                b["audio"]["hold_packets"] == 0,
                "no decryptable RTP reached the customer (no hold audio decoded)",
                (b["audio"], b["video"]["received"]))
    suite.check(f.get("media_datagrams") == 0, "the relay sent the failed leg no RTP/RTCP at "
                "all", f)
    tchelper.log(f"the peer's own DTLS view: dtls_connected={b['dtls_connected']} (the relay "
                 f"finishes the handshake and checks the fingerprint after it)")
    suite.check(nc_code == 0 and na_code == 0,
                "isolation: a normal call at the same time works (tones, loss < 1 %)",
                f"customer exit {nc_code}: {tail(nc_err, 4)} / agent exit {na_code}: "
                f"{tail(na_err, 4)}")
    if nc and na:
        suite.check(nc["end_reason"] == "completed" and na["end_reason"] == "completed",
                    "isolation: the normal call ended completed", (nc["end_reason"],
                                                                   na["end_reason"]))


@suite.test
async def plain_rtp_before_dtls():
    """2. plain RTP sent before DTLS is dropped, counted, and never reaches the agent"""
    srv = state["srv"]
    token = await ops_token(srv)
    poll = StatsPoller(srv, token)
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, customer(srv, "broadband", 8, "--plain-rtp-before-dtls", str(PLAIN_RTP),
                      "--expect-tone", "660"),
        agent(srv, "plainagent", 10, "--fault-watch", "--expect-tone", "440"),
        during=poll.run)
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    if not suite.check(c is not None and a is not None, "both peers report",
                       f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: "
                       f"{tail(a_err)}"):
        return
    sent = c["faults"]["plain_rtp_sent"]
    suite.check(sent == PLAIN_RTP, f"the customer sent {PLAIN_RTP} plain RTP packets before "
                "DTLS", c["faults"])
    suite.check(c_code == 0 and a_code == 0, "the call then works both ways (tones, DTLS)",
                f"{tail(c_err, 4)} / {tail(a_err, 4)}")
    sid = c["session_id"]
    drops = poll.series(sid, "customer", "rx_dropped")
    agent_drops = poll.series(sid, "agent", "rx_dropped")
    tchelper.log(f"customer leg rx_dropped over the call: {[v for _, v in drops]}")
    tchelper.log(f"agent leg rx_dropped over the call: {[v for _, v in agent_drops]}")
    top = max((v for _, v in drops), default=None)
    suite.check(top is not None and top >= sent,
                f"the relay counted the customer leg's drops: rx_dropped >= {sent}", top)
    suite.check(bool(agent_drops) and max(v for _, v in agent_drops) == 0,
                "control: the agent's leg dropped nothing", agent_drops[-3:])
    fa = a.get("faults") or {}
    suite.check(fa.get("fault_video_received") == 0,
                "none of the plain packets reached the agent (FAULT-flagged packets: 0)", fa)
    suite.check(a["video"]["received"] <= c["video"]["sent"],
                "the agent received no more video than the customer sent over SRTP",
                (a["video"]["received"], c["video"]["sent"]))


@suite.test
async def malformed_rtcp():
    """3. malformed RTCP inside valid SRTCP is dropped and counted; the call goes on"""
    srv = state["srv"]
    token = await ops_token(srv)
    poll = StatsPoller(srv, token)
    last_burst_ms = BAD_RTCP_AT_MS + 3 * BAD_RTCP_GAP_MS
    mark = {"TC_PEER_MARK_AT_MS": str(last_burst_ms + 1500)}
    duration = (last_burst_ms + 6000) // 1000
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, customer(srv, "broadband", duration, "--bad-rtcp", str(BAD_RTCP), "--bad-rtcp-at-ms",
                      str(BAD_RTCP_AT_MS), "--bad-rtcp-gap-ms", str(BAD_RTCP_GAP_MS)),
        agent(srv, "rtcpagent", duration + 2), c_env=mark, a_env=mark, during=poll.run)
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    if not suite.check(c is not None and a is not None, "both peers report",
                       f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: "
                       f"{tail(a_err)}"):
        return
    sid = c["session_id"]
    drops = poll.series(sid, "customer", "rx_dropped")
    tchelper.log("customer leg rx_dropped (t from the first burst, value): " + str(
        [(round(t - c["faults"]["bad_rtcp"][0]["at_unix_ms"] / 1000, 1), v) for t, v in drops]
        if c["faults"]["bad_rtcp"] else drops))
    bursts = c["faults"]["bad_rtcp"]
    suite.check(len(bursts) == 4 and all(b["sent"] == BAD_RTCP for b in bursts),
                f"the customer sent 4 bursts of {BAD_RTCP} malformed SRTCP compounds", bursts)
    for b in bursts:
        t = b["at_unix_ms"] / 1000
        before, after = value_at(drops, t - 0.1), value_at(drops, t + 2.6)
        grew = after - before if before is not None and after is not None else None
        suite.check(grew is not None and grew >= b["sent"],
                    f"malformed RTCP ({b['kind']}): rx_dropped grew by >= {b['sent']}",
                    f"{before} -> {after} (burst at {b['at_call_ms']} ms of the call)")
    suite.check(a["rtcp"]["plis_received"] < BAD_RTCP,
                "the truncated PLIs were not forwarded to the agent",
                f"agent PLIs received {a['rtcp']['plis_received']} (the relay's bridging PLI "
                "counts 1)")
    suite.check(c["end_reason"] == "completed" and a["end_reason"] == "completed",
                "the call went on to its hangup (completed)", (c["end_reason"],
                                                              a["end_reason"]))
    for who, r in (("customer", c), ("agent", a)):
        m = r.get("after_mark") or {}
        suite.check(m.get("audio_received", 0) >= 100 and m.get("video_received", 0) >= 300,
                    f"after the last burst the {who} still receives audio and video", m)
    status, body = await srv.ahttp_get("/readyz")
    suite.check(status == 200 and srv.proc.poll() is None, "the server is still healthy "
                "(/readyz 200, process up)", (status, body[:100]))


@suite.test
async def pli_reaches_customer():
    """4. PLIs from the agent reach the customer: the difference to a call without them"""
    srv = state["srv"]
    token = await ops_token(srv)
    # The agent hangs up first (at 6 s); the customer keeps listening 0.5 s after
    # session.ended, so that a PLI still on its way is counted.
    linger = ("--linger-ms", "500")
    (c0_code, c0, c0_err), (a0_code, a0, a0_err) = await call(
        srv, customer(srv, "broadband", 10, *linger), agent(srv, "pliagent0", 6))
    poll = StatsPoller(srv, token)
    (c1_code, c1, c1_err), (a1_code, a1, a1_err) = await call(
        srv, customer(srv, "broadband", 10, *linger),
        agent(srv, "pliagent1", 6, "--pli-interval-ms", "250"), during=poll.run)
    for name, r in (("baseline customer", c0), ("baseline agent", a0), ("PLI customer", c1),
                    ("PLI agent", a1)):
        tchelper.log(f"{name}: {summary(r)}")
    if not suite.check(all((c0, a0, c1, a1)) and all(r["ok"] for r in (c0, a0, c1, a1)),
                       "four peers ran as planned",
                       [tail(e, 3) for e in (c0_err, a0_err, c1_err, a1_err)]):
        return
    base = c0["rtcp"]["plis_received"]
    got = c1["rtcp"]["plis_received"]
    sent = a1["rtcp"]["plis_sent"]
    tchelper.log(f"customer PLIs: {base} without the agent's, {got} with; the agent sent {sent}")
    suite.check(a0["rtcp"]["plis_sent"] == 0 and sent >= 15,
                "the baseline agent sent no PLI; the other one sent >= 15 (every 250 ms)",
                (a0["rtcp"]["plis_sent"], sent))
    suite.check(base >= 1, "without agent PLIs the customer still gets the relay's bridging "
                "PLI(s)", base)
    suite.check(sent - 1 <= got - base <= sent,
                "every agent PLI reached the customer: received(with) - received(without) "
                "in [sent - 1, sent]", f"{got} - {base} = {got - base}, sent {sent}")
    plis_rx = [v for _, v in poll.series(c1["session_id"], "agent", "plis_rx")]
    tchelper.log(f"relay's agent-leg plis_rx samples: {plis_rx}")
    suite.check(bool(plis_rx) and 0 < plis_rx[-1] <= sent,
                "the relay counted the agent's PLIs (plis_rx, last 2 s sample)", plis_rx[-3:])
    k0, k1 = a0["video"]["keyframes_received"], a1["video"]["keyframes_received"]
    suite.check(c1["video"]["keyframes_sent"] >= got and k1 - k0 >= sent - 2,
                "the customer answered with keyframes that reached the agent",
                f"customer keyframes sent {c1['video']['keyframes_sent']}, agent received "
                f"{k1} (baseline {k0})")


@suite.test
async def hold_audio_then_agent():
    """5. a queued customer hears hold audio; after the answer, the agent's tone only"""
    srv = state["srv"]
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, customer(srv, "broadband", 6, "--tone-timeline", "--hold-audio-check"),
        agent(srv, "holdagent", 8, "--tone-hz", str(AGENT_HZ)), delay=4.5)
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    if not suite.check(c is not None and c.get("faults") is not None and c["ok"],
                       "the customer ran as planned", f"exit {c_code}: {tail(c_err)}"):
        return
    tl = c["faults"]["tone_timeline"]
    before = [(t, hz) for t, hz in tl if t < 0]
    after = [(t, hz) for t, hz in tl if t >= 0]
    tchelper.log(f"before the answer ({len(before)} windows): {before}")
    tchelper.log(f"after the answer ({len(after)} windows): {after[:12]} ...")
    voiced = [hz for _, hz in before if hz > 0]
    chime = [hz for hz in voiced if any(near(hz, n, 0.02) for n in HOLD_NOTES)]
    suite.check(len(voiced) >= 3 and len(chime) >= 0.8 * len(voiced),
                "queued: hold audio arrived, and it is the chime (587/392 Hz)",
                f"{len(chime)} of {len(voiced)} voiced windows, {len(before)} in all; "
                f"hold packets {c['audio']['hold_packets']}")
    first_agent = next((t for t, hz in after if near(hz, AGENT_HZ)), None)
    tchelper.log(f"the first window with the agent's {AGENT_HZ} Hz ended {first_agent} ms "
                 "after the answer")
    suite.check(first_agent is not None and first_agent <= 1500,
                f"the agent's {AGENT_HZ} Hz is heard within 1.5 s of the answer", first_agent)
    window = [hz for t, hz in after if 1000 <= t <= 5500]
    hold_after = [(t, hz) for t, hz in after
                  if first_agent is not None and t > first_agent and hz > 0 and
                  any(near(hz, n, 0.02) for n in HOLD_NOTES)]
    dom = statistics.median(window) if window else 0
    suite.check(len(window) >= 15 and near(dom, AGENT_HZ, 0.02) and
                all(near(hz, AGENT_HZ) for hz in window),
                f"from 1 s to 5.5 s after the answer every window is the agent's {AGENT_HZ} Hz "
                f"(median {dom:.1f} Hz)", window)
    suite.check(not hold_after, "no hold chime after the agent's audio began", hold_after)
    suite.check(near(c["audio"]["dominant_hz"], AGENT_HZ, 0.02),
                "the peer's own median since the answer is the agent's tone",
                c["audio"]["dominant_hz"])


@suite.test
async def hangup_ends_both_legs():
    """6. after the customer's hangup both peers get session.ended and no more media"""
    srv = state["srv"]
    token = await ops_token(srv)
    linger = ["--linger-ms", str(LINGER_MS)]
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, customer(srv, "broadband", 5, *linger), agent(srv, "hangupagent", 30, *linger))
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    if not suite.check(c is not None and a is not None, "both peers report",
                       f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: "
                       f"{tail(a_err)}"):
        return
    suite.check(c["end_reason"] == "completed" and a["end_reason"] == "completed",
                "both peers got session.ended (completed)", (c["end_reason"], a["end_reason"]))
    suite.check(a["ended_at_ms"] < 10000, "the agent's ended with the customer's hangup at 5 s, "
                "not its own timer", a["ended_at_ms"])
    for who, r in (("customer", c), ("agent", a)):
        ae = r["faults"]["after_end"]
        suite.check(r["faults"]["lingered"] and ae["datagrams"] == 0,
                    f"no RTP/RTCP reached the {who} in the {LINGER_MS} ms after session.ended",
                    ae)
    st = await live_stats(srv, token)
    calls = legs_of(st)
    suite.check(not any(sid == c["session_id"] for sid, _ in calls) and not calls,
                "the stats API lists no active call", st.get("active_calls"))
    sid = c["session_id"]
    tchelper.log("relay log:\n    " + "\n    ".join(
        log_lines(srv, rf"session {sid}\b|media {sid}/")[-6:]))


@suite.test
async def nacks_served_from_the_buffer():
    """7. NACKed video comes again from the relay's buffer; what it lacks goes to the sender"""
    srv = state["srv"]
    token = await ops_token(srv)
    poll = StatsPoller(srv, token)
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, customer(srv, "broadband", 9, "--video-loss-every", str(LOSS_EVERY)),
        agent(srv, "nackagent", 12, "--fault-watch"), during=poll.run)
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    if not suite.check(c is not None and a is not None and c["ok"] and a["ok"],
                       "both peers ran as planned",
                       f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: "
                       f"{tail(a_err)}"):
        return
    n = c["faults"]["nack"]
    dropped, recovered, stale = n["video_dropped"], n["video_recovered"], n["stale_nacks_sent"]
    suite.check(dropped >= 20 and n["nacks_sent"] == dropped,
                f"the customer dropped >= 20 video packets (every {LOSS_EVERY}th) and NACKed "
                "each", n)
    suite.check(recovered >= dropped - 2,
                "all but at most 2 (in flight at the end) came again from the relay", n)
    v = c["video"]
    expected = v["received"] + v["lost"]
    suite.check(expected > 0 and v["lost"] <= max(2, expected // 500),
                "the customer's video loss after recovery is near 0 (< 0.2 %)", v)
    got = a["faults"]["nack"]["seqs_received_as_sender"]
    suite.check(stale >= 2 and 1 <= got <= stale,
                "the agent (the sender) got the NACKs for packets 2,000 back, which no buffer "
                "holds, and no others", f"agent got {got} NACKed seqs; customer asked for "
                f"{stale} stale ones")
    nacks_rx = [v for _, v in poll.series(c["session_id"], "customer", "nacks_rx")]
    suite.check(max([x or 0 for x in nacks_rx] or [0]) > 0,
                "the relay counted the customer's NACKs (nacks_rx)", nacks_rx[-3:])


if __name__ == "__main__":
    suite.main()
