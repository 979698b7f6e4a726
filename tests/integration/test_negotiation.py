#!/usr/bin/python3
"""Offer/answer off the happy path, through the real relay, with native test peers (issue 11).

Each scenario runs a customer and an agent as separate tc-testpeer processes (the
customer joins and offers first; the agent logs in, accepts and offers 1.5 s later),
chosen through TC_PEER_* environment variables (tools/peer/peer.h):

(a) no common video codec: the customer offers H.264 only for video (as an iPhone
    may), the agent VP8 only. The agent's offer is answered, not refused: its video
    m-line with port 0, its audio as usual. Both sides get `call.media` with
    `video: false`, `reason: no_common_video_codec`; the agent's `offer.ok` says
    `video: false`, the customer's `video: true`; audio flows both ways (each side
    hears the other's tone).
(b) a renegotiation is not an ICE restart: mid-call the customer offers again with
    the same ICE ufrag and pwd (RFC 8839 4.4.1.1: only a change of them is a restart).
    The answer repeats the relay's first ufrag and pwd, the relay logs no ICE restart
    and keeps the DTLS session, and media keeps flowing both ways after the answer
    (the peer, like a browser, keeps the credentials of the first answer).
(c) a reload in an audio-only call: the H.264-only customer of (a) vanishes mid-call and a
    new peer resumes with the token and a fresh offer: the new page is told `call.media`
    `video: false` again (the first page was told, not this one).

Traffic goes only to 127.0.0.1 (`media.loopback = true`; the peers gather on 127.0.0.1).
"""

import asyncio
import json
import re

import tchelper
from tchelper import PASSWORD, Suite

AGENT_DELAY_S = 1.5

suite = Suite("negotiation")
state = {}

run_peer = tchelper.run_testpeer


def summary(r):
    if not r:
        return "no result line"
    keep = ("ok", "error", "session_id", "end_reason", "offer_video", "call_media",
            "reoffer_answered", "reoffer_same_ice", "after_mark")
    out = {k: r.get(k) for k in keep}
    out["audio"] = {k: r["audio"].get(k) for k in ("received", "lost", "dominant_hz")}
    out["video"] = {k: r["video"].get(k) for k in ("sent", "received")}
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


def server_log(srv):
    with open(srv.log_path, errors="replace") as f:
        return f.read()


def log_lines(srv, pattern):
    return [l for l in server_log(srv).splitlines() if re.search(pattern, l)]


def hears(r, hz):
    """The peer decoded the other side's tone (within 5 %) from enough audio packets."""
    a = (r or {}).get("audio", {})
    return a.get("received", 0) >= 100 and abs(a.get("dominant_hz", 0) - hz) <= hz * 0.05


@suite.test
async def setup():
    """a server with media on loopback; two agents"""
    srv = suite.server(config={"media": {"workers": 1, "loopback": "true", "grace_s": 15},
                               "routing": {"ring_timeout_s": 10, "after_call_work_s": 2,
                                           "resume_window_s": 30}}, name="negotiation")
    for name in ("codecagent", "reofferagent", "reloadagent"):
        srv.add_account(name)
    srv.start()
    state["srv"] = srv


@suite.test
async def no_common_video_codec():
    """(a) H.264-only customer, VP8-only agent: an audio-only call, both sides told"""
    srv = state["srv"]
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, "codecagent", 8, 10, c_env={"TC_PEER_VIDEO_CODEC": "H264"})
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c is not None and a is not None, "both peers report",
                f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c and a):
        return
    suite.check(a["ok"], "the agent's offer was answered, not refused (no bad_sdp)",
                a["error"] or tail(a_err))
    suite.check(c["ok"], "the customer's run went as planned", c["error"])
    suite.check(c["offer_video"] is True and a["offer_video"] is False,
                "offer.ok: video true for the customer (H.264 accepted), false for the agent",
                (c["offer_video"], a["offer_video"]))
    told = "video=false:no_common_video_codec"
    suite.check(c["call_media"] == told and a["call_media"] == told,
                "both sides got one call.media: video false, reason no_common_video_codec",
                (c["call_media"], a["call_media"]))
    suite.check(hears(c, 660), "the customer hears the agent (660 Hz)", c["audio"])
    suite.check(hears(a, 440), "the agent hears the customer (440 Hz)", a["audio"])
    suite.check(a["video"]["received"] == 0 and c["video"]["received"] == 0,
                "no video either way", (c["video"]["received"], a["video"]["received"]))
    suite.check(c["end_reason"] == "completed" and a["end_reason"] == "completed",
                "the call ended with the hangup (completed)", (c["end_reason"], a["end_reason"]))
    sid = c["session_id"]
    lines = log_lines(srv, rf"session {sid}: the call is audio-only \(no_common_video_codec\)")
    suite.check(len(lines) == 1, "the relay logged the decision once", lines)


@suite.test
async def reoffer_is_not_an_ice_restart():
    """(b) a second offer with the same ufrag/pwd: same ICE credentials back, media flows"""
    srv = state["srv"]
    before = len(log_lines(srv, r"ICE restart"))
    (c_code, c, c_err), (a_code, a, a_err) = await call(
        srv, "reofferagent", 12, 14, c_env={"TC_PEER_REOFFER_AT_MS": "3000"},
        a_env={"TC_PEER_MARK_AT_MS": "6000"})
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c is not None and a is not None, "both peers report",
                f"customer exit {c_code}: {tail(c_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c and a):
        return
    suite.check(c["ok"] and a["ok"], "both peers' runs went as planned", (c["error"], a["error"]))
    suite.check(c["reoffer_answered"], "the customer's re-offer was answered", tail(c_err))
    suite.check(c["reoffer_same_ice"], "the answer repeated the first answer's ice-ufrag and "
                "ice-pwd", tail(c_err))
    sid = c["session_id"]
    restarts = [l for l in log_lines(srv, r"ICE restart")[before:] if f"media {sid}/" in l]
    suite.check(not restarts, "the relay did not restart ICE", restarts)
    renego = log_lines(srv, rf"media {sid}/0: new offer, same ICE credentials")
    suite.check(len(renego) == 1, "the relay logged one renegotiation", renego)
    dtls = log_lines(srv, rf"media {sid}/0: DTLS done")
    suite.check(len(dtls) == 1, "the customer's DTLS session was kept (one handshake)", dtls)
    m = c.get("after_mark") or {}
    # the mark is taken at the re-offer's answer (3 s); 9 s of call remain: 50 audio
    # packets a second, video at 30 frames a second
    suite.check(m.get("audio_received", 0) >= 200 and m.get("video_received", 0) >= 200,
                "after the re-offer's answer the customer keeps receiving audio and video", m)
    m = a.get("after_mark") or {}
    suite.check(m.get("audio_received", 0) >= 200 and m.get("video_received", 0) >= 200,
                "after the re-offer the agent keeps receiving the customer's audio and video", m)
    suite.check(a["end_reason"] == "completed" and c["end_reason"] == "completed",
                "the call ended with the hangup (completed)", (c["end_reason"], a["end_reason"]))



@suite.test
async def reload_in_audio_only_call():
    """(c) the H.264-only customer reloads mid-call: the new page hears call.media again"""
    srv = state["srv"]
    h264 = {"TC_PEER_VIDEO_CODEC": "H264"}
    first = asyncio.ensure_future(run_peer(customer_args(srv, 30),
                                           env={"TC_PEER_VANISH_AT_MS": "3000", **h264}))
    await asyncio.sleep(AGENT_DELAY_S)
    agent = asyncio.ensure_future(run_peer(agent_args(srv, "reloadagent", 12),
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
    c2_code, c2, c2_err = await run_peer(customer_args(srv, 5),
                                         env={"TC_PEER_RESUME_TOKEN": token, **h264})
    a_code, a, a_err = await agent
    tchelper.log(f"second customer: {summary(c2)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c2 is not None and a is not None, "both peers report",
                f"customer exit {c2_code}: {tail(c2_err)}\nagent exit {a_code}: {tail(a_err)}")
    if not (c2 and a):
        return
    told = "video=false:no_common_video_codec"
    suite.check(c1["call_media"] == told, "the first page was told the call is audio-only",
                c1["call_media"])
    suite.check(c2["session_id"] == c1["session_id"] and c2["answered"],
                "the new peer resumed the same, answered session",
                (c1["session_id"], c2["session_id"], c2["answered"]))
    suite.check(c2["call_media"] == told, "the new page was told the call is audio-only",
                c2["call_media"])
    suite.check(hears(c2, 660), "the new customer hears the agent (660 Hz)", c2["audio"])


if __name__ == "__main__":
    suite.main()
