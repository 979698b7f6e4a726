#!/usr/bin/python3
"""Calls that survive the network, through the real relay, with native test peers.

Each scenario runs a customer and an agent as separate tc-testpeer processes
(the customer joins and offers first; the agent logs in, accepts and offers
1.5 s later). The peers' reconnect options are set through TC_PEER_*
environment variables (tools/peer/peer.h):

(a) a 5 s network cut on the customer's side (every datagram both ways is
    dropped, STUN included, by the peer's loopback middlebox, tools/peer/cutbox.h)
    does not end the call: media flows again both ways afterwards, and the
    session ends only when the customer hangs up (reason `completed`);
(b) an ICE restart (the customer re-offers on the same session with new ICE
    credentials and the same certificate): the relay restarts ICE on the
    existing leg (no new DTLS) and media flows again both ways;
(c) a page reload: the customer process vanishes mid-call without hanging up,
    and a new one (a new certificate) sends `customer.resume` with the token
    and a fresh offer: media flows between the new customer and the agent.
    Both customers resend a packet of every third frame as RTX, as browsers
    probe bandwidth; the new one has a new SSRC and sequence numbers of its
    own, which the relay shifts to continue the agent's stream, and the
    agent checks that every RTX names the packet it repeats under the
    number it received that packet with (the frozen video of issue 11);
(d) a customer silent for longer than the relay's silence watch (5 s) plus
    `media.grace_s` (3 s here; a 12 s cut) ends the session with reason
    `failed` for both sides. The relay marks a leg silent after 5 s with
    nothing received (it then sends it nothing), says `reconnecting`, and
    fails it when grace_s runs out; the first packet back restores it.

Timings are from the call's start (session.answered for the customer,
agent.accept.ok for the agent: the same moment within a few ms). Traffic goes
only to 127.0.0.1 (`media.loopback = true`; the peers gather on 127.0.0.1).
"""

import asyncio
import json
import re

import tchelper
from tchelper import PASSWORD, Suite

AGENT_DELAY_S = 1.5

suite = Suite("media reconnect")
state = {}


run_peer = tchelper.run_testpeer


def summary(r):
    if not r:
        return "no result line"
    keep = ("ok", "error", "session_id", "end_reason", "ended_at_ms", "media_states",
            "after_mark", "offer_to_dtls_ms")
    out = {k: r.get(k) for k in keep}
    out["audio"] = {k: r["audio"].get(k) for k in ("received", "lost", "dominant_hz")}
    out["video"] = {k: r["video"].get(k) for k in ("sent", "received", "lost", "loss")}
    return json.dumps(out)


def tail(text, n=12):
    return "\n".join(text.splitlines()[-n:])


def customer_args(srv, duration):
    return ["--url", srv.ws_url, "--role", "customer", "--desk", "broadband", "--duration",
            str(duration), "--answer-timeout", "30"]


def agent_args(srv, user, duration):
    return ["--url", srv.ws_url, "--role", "agent", "--user", user, "--password-stdin",
            "--duration", str(duration)]


async def call(srv, user, c_duration, a_duration, c_env=None, a_env=None):
    """A customer and an agent; returns ((code, result, stderr) customer, (...) agent)."""
    customer = asyncio.ensure_future(run_peer(customer_args(srv, c_duration), env=c_env))
    await asyncio.sleep(AGENT_DELAY_S)
    agent = asyncio.ensure_future(run_peer(agent_args(srv, user, a_duration), env=a_env,
                                           stdin=PASSWORD + "\n"))
    return await asyncio.gather(customer, agent)


def flows(r, min_video=100, min_audio=50):
    """Media received since the peer's mark: (audio, video), or None without a mark."""
    m = (r or {}).get("after_mark")
    if not m:
        return None
    return m["audio_received"] >= min_audio and m["video_received"] >= min_video


def server_log(srv):
    with open(srv.log_path, errors="replace") as f:
        return f.read()


def log_lines(srv, pattern):
    return [l for l in server_log(srv).splitlines() if re.search(pattern, l)]


@suite.test
async def setup():
    """servers with media on loopback: grace_s 15 (a-c) and grace_s 3 (d); four agents"""
    srv = suite.server(config={"media": {"workers": 1, "loopback": "true", "grace_s": 15},
                               "routing": {"ring_timeout_s": 10, "after_call_work_s": 2,
                                           "resume_window_s": 30}}, name="reconnect")
    for name in ("cutagent", "restartagent", "reloadagent"):
        srv.add_account(name)
    srv.start()
    state["srv"] = srv
    short = suite.server(config={"media": {"workers": 1, "loopback": "true", "grace_s": 3},
                                 "routing": {"ring_timeout_s": 10, "after_call_work_s": 2,
                                             "resume_window_s": 30}}, name="grace3")
    short.add_account("silentagent")
    short.start()
    state["short"] = short


@suite.test
async def cut_5s_does_not_end_the_call():
    """(a) a 5 s network cut on the customer's side: the call goes on, media comes back"""
    srv = state["srv"]
    # cut from 3 s to 8 s of the call; the customer hangs up at 14 s, the agent would at 16 s
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, "cutagent", 14, 16,
        c_env={"TC_PEER_CUT_AT_MS": "3000", "TC_PEER_CUT_MS": "5000"},
        a_env={"TC_PEER_MARK_AT_MS": "9500"})
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c is not None and a is not None, "both peers report",
                f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c and a):
        return
    suite.check(c["ok"] and a["ok"], "both peers' runs went as planned", (c["error"], a["error"]))
    suite.check("network cut" in c_err and "network back" in c_err,
                "the customer's network was cut and came back", tail(c_err))
    lost_s = a["video"]["lost"] / max(1, a["video"]["sent"] / 14)
    suite.check(a["video"]["lost"] >= 3 * 150, "the cut was real: the agent missed >= 3 s of "
                "the customer's video", f"lost {a['video']['lost']} packets (~{lost_s:.1f} s)")
    suite.check(a["end_reason"] == "completed" and a["ended_at_ms"] >= 13000,
                "the agent's session.ended came only with the customer's hangup (completed, "
                "after 13 s)", (a["end_reason"], a["ended_at_ms"]))
    suite.check(c["end_reason"] == "completed", "the customer's session ended completed",
                (c["end_reason"], c["ended_at_ms"]))
    suite.check(flows(c), "after the cut the customer receives the agent's audio and video",
                c.get("after_mark"))
    suite.check(flows(a), "after the cut the agent receives the customer's audio and video",
                a.get("after_mark"))
    tchelper.log(f"relay's media.state to the customer: {c['media_states']}")


@suite.test
async def ice_restart():
    """(b) the customer re-offers with new ICE credentials mid-call: ICE restarts, media flows"""
    srv = state["srv"]
    before = len(log_lines(srv, r"ICE restart"))
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, "restartagent", 12, 14,
        c_env={"TC_PEER_ICE_RESTART_AT_MS": "4000"},
        a_env={"TC_PEER_MARK_AT_MS": "6000"})
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c is not None and a is not None, "both peers report",
                f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c and a):
        return
    suite.check(c["ok"] and a["ok"], "both peers' runs went as planned", (c["error"], a["error"]))
    sid = c["session_id"]
    restarts = [l for l in log_lines(srv, r"ICE restart")[before:] if f"media {sid}/" in l]
    suite.check(len(restarts) == 1, "the relay treated the second offer as an ICE restart",
                restarts or tail(server_log(srv), 20))
    dtls = log_lines(srv, rf"media {sid}/0: DTLS done")
    suite.check(len(dtls) == 1, "the customer's DTLS session was kept (one handshake)", dtls)
    suite.check(c.get("after_mark") is not None,
                "the customer got an answer to the restart offer", c.get("after_mark"))
    suite.check(flows(c), "after the restart the customer receives the agent's audio and video",
                c.get("after_mark"))
    suite.check(flows(a), "after the restart the agent receives the customer's audio and video",
                a.get("after_mark"))
    suite.check(a["end_reason"] == "completed" and c["end_reason"] == "completed",
                "the call ended only with the hangup (completed)",
                (c["end_reason"], a["end_reason"]))


@suite.test
async def page_reload():
    """(c) the customer vanishes mid-call; a new peer resumes with the token and a new offer"""
    srv = state["srv"]
    probes = {"TC_PEER_RTX_PROBE_EVERY": "3"}
    first = asyncio.ensure_future(run_peer(customer_args(srv, 30),
                                           env={"TC_PEER_VANISH_AT_MS": "4000", **probes}))
    await asyncio.sleep(AGENT_DELAY_S)
    agent = asyncio.ensure_future(run_peer(
        agent_args(srv, "reloadagent", 20), env={"TC_PEER_MARK_AT_MS": "8000"},
        stdin=PASSWORD + "\n"))
    c1_code, c1, c1_err = await first
    tchelper.log(f"first customer: {summary(c1)}")
    token = (c1 or {}).get("token", "")
    suite.check(bool(c1 and c1["ok"] and token and c1["answered"]),
                "the first customer was answered and vanished", (c1_code, tail(c1_err)))
    if not token:
        await agent
        return
    await asyncio.sleep(0.5)  # the page reloads
    c2_code, c2, c2_err = await run_peer(customer_args(srv, 8) + ["--expect-tone", "660"],
                                         env={"TC_PEER_RESUME_TOKEN": token, **probes})
    a_code, a, a_err = await agent
    tchelper.log(f"second customer: {summary(c2)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c2 is not None and a is not None, "both peers report",
                f"customer exit {c2_code}: {tail(c2_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c2 and a):
        return
    suite.check(c2["session_id"] == c1["session_id"] and c2["answered"],
                "the new peer resumed the same, answered session",
                (c1["session_id"], c2["session_id"], c2["answered"]))
    suite.check(c2["dtls_connected"], "the new peer's DTLS (new certificate) connected",
                c2["offer_to_dtls_ms"])
    suite.check(c2["video"]["received"] >= 100 and c2["audio"]["received"] >= 50,
                "the new customer peer receives the agent's audio and video",
                (c2["audio"]["received"], c2["video"]["received"]))
    suite.check(abs(c2["audio"]["dominant_hz"] - 660) <= 33, "the new customer hears the "
                "agent's 660 Hz (not hold audio)", c2["audio"]["dominant_hz"])
    suite.check(flows(a), "the agent receives the new customer's audio and video",
                a.get("after_mark"))
    # The first customer sends at most 40 probes (10 a second until it vanishes at 4 s), the
    # new one about 80 in its 8 s: 60 checked means at least 20 of the new customer's.
    video = a["video"]
    rtx = {k: video[k] for k in ("rtx_received", "rtx_osn_checked", "rtx_osn_wrong",
                                 "rtx_ts_wrong")}
    tchelper.log(f"agent's RTX: {rtx}")
    suite.check(video["rtx_osn_checked"] >= 60 and video["rtx_osn_wrong"] == 0,
                "every RTX the agent got, the new customer's too, names the packet it repeats "
                "by the number the agent has it under", rtx)
    suite.check(video["rtx_osn_checked"] >= 60 and video["rtx_ts_wrong"] == 0,
                "... and carries the timestamp the agent has that packet with", rtx)
    suite.check(c2["rtcp"]["plis_received"] >= 1,
                "the relay asked the new customer for a keyframe", c2["rtcp"])
    suite.check(video["keyframes_received"] >= 2,
                "the agent received keyframes from both customers", video["keyframes_received"])
    suite.check(a["end_reason"] == "completed", "the call ended with the new customer's hangup",
                (a["end_reason"], a["ended_at_ms"]))


@suite.test
async def silence_past_grace_fails():
    """(d) grace_s = 3, the customer silent for 12 s: the session ends `failed` for both"""
    srv = state["short"]
    # cut from 3 s to 15 s: silence noticed at ~8 s, grace out at ~11 s
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, "silentagent", 20, 22,
        c_env={"TC_PEER_CUT_AT_MS": "3000", "TC_PEER_CUT_MS": "12000"})
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c is not None and a is not None, "both peers report",
                f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c and a):
        return
    await asyncio.sleep(0.5)
    timeline = log_lines(srv, rf"session {c['session_id']}:|media {c['session_id']}/")
    tchelper.log("relay log for the session:\n    " + "\n    ".join(timeline[-15:]))
    suite.check(c["end_reason"] == "failed", "the customer's session ended with reason failed",
                (c["end_reason"], c["ended_at_ms"]))
    suite.check(a["end_reason"] == "failed", "the agent's session ended with reason failed",
                (a["end_reason"], a["ended_at_ms"]))
    suite.check(any("nothing received for 5 s" in line for line in timeline),
                "the relay noticed the silence", timeline[-6:])
    # Silence noticed 5-6 s after the cut began (a once-a-second watch), then grace_s.
    suite.check(3000 + 5000 + 3000 <= c["ended_at_ms"] <= 3000 + 6000 + 3000 + 2000,
                "it ended at cut start + 5-6 s of silence + grace_s", c["ended_at_ms"])


if __name__ == "__main__":
    suite.main()
