#!/usr/bin/python3
"""Media through the relay, end to end with two native test peers (tc-testpeer).

A customer (440 Hz tone, video) joins `broadband` and offers at once; it must
hear hold audio while queued. An agent (660 Hz) logs in, goes available and
accepts the ring, then offers. Both run ICE (libnice, loopback only), DTLS and
SRTP with the server's media relay; each checks that it hears the other's tone
(within 5 %), that under 1 % of the other's video packets went missing, and
reports one-way latency and PLIs. Also: a self-test of the peer with no server
(two peers back to back), so a relay failure and a peer failure look different.

Traffic goes only to 127.0.0.1: the server gathers on loopback
(`media.loopback = true`), and the peers gather on 127.0.0.1 and ignore any
remote candidate that is not loopback.
"""

import asyncio
import json

import tchelper
from tchelper import PASSWORD, Suite

DURATION_S = 8

suite = Suite("media peers")
state = {}


def run_peer(args, stdin=None, timeout=90):
    """tc-testpeer with args; (exit code, result dict, the last 15 lines of its stderr)."""
    return tchelper.run_testpeer(args, stdin=stdin, timeout=timeout, tail_lines=15)


def summary(r):
    if not r:
        return "no result line"
    return json.dumps({k: r.get(k) for k in ("ok", "error", "dtls_connected", "ice_pair",
                                             "srtp_profile", "offer_to_dtls_ms",
                                             "answer_to_video_ms", "audio",
                                             "video", "rtcp", "failures")})


@suite.test
async def setup():
    """start the server with media on loopback, add an agent"""
    srv = suite.server(config={"media": {"workers": 1, "loopback": "true"}}, name="media")
    srv.add_account("mediaagent")
    srv.start()
    state["srv"] = srv


@suite.test
async def selftest():
    """the peer against itself: ICE, DTLS, SRTP, tones, video, PLI without a server"""
    code, r, tail = await run_peer(["--selftest", "--duration", "4", "--quiet"])
    suite.check(code == 0, "tc-testpeer --selftest exits 0", f"exit {code}: {tail}")


@suite.test
async def call_through_relay():
    """customer and agent peers through the relay: tones, loss, latency, hold audio"""
    srv = state["srv"]
    common = ["--url", srv.ws_url, "--duration", str(DURATION_S), "--max-loss", "0.01"]
    customer = asyncio.ensure_future(run_peer(
        common + ["--role", "customer", "--desk", "broadband", "--expect-tone", "660",
                  "--hold-audio-check", "--answer-timeout", "30"]))
    await asyncio.sleep(1.5)  # queued long enough to hear hold audio
    agent = asyncio.ensure_future(run_peer(
        common + ["--role", "agent", "--user", "mediaagent", "--password-stdin",
                  "--expect-tone", "440"], stdin=PASSWORD + "\n"))
    (c_code, c, c_tail), (a_code, a, a_tail) = await asyncio.gather(customer, agent)
    tchelper.log(f"customer: {summary(c)}")
    tchelper.log(f"agent: {summary(a)}")
    suite.check(c_code == 0, "the customer's expectations hold", f"exit {c_code}: {c_tail}")
    suite.check(a_code == 0, "the agent's expectations hold", f"exit {a_code}: {a_tail}")
    if not (c and a):
        return
    suite.check(abs(c["audio"]["dominant_hz"] - 660) <= 33, "the customer hears 660 Hz",
                c["audio"]["dominant_hz"])
    suite.check(abs(a["audio"]["dominant_hz"] - 440) <= 22, "the agent hears 440 Hz",
                a["audio"]["dominant_hz"])
    suite.check(c["video"]["loss"] < 0.01 and a["video"]["loss"] < 0.01,
                "video loss under 1 % both ways", (c["video"], a["video"]))
    suite.check(c["audio"]["hold_voiced_windows"] > 0, "the queued customer heard hold audio",
                c["audio"])
    suite.check(c["ice_pair"].startswith("127.0.0.1:") and a["ice_pair"].startswith("127.0.0.1:"),
                "both ICE pairs are on loopback", (c["ice_pair"], a["ice_pair"]))
    suite.check(a["answer_to_video_ms"] >= 0, "the agent saw the customer's video after accepting "
                "(accept -> bridged is measured)", a["answer_to_video_ms"])
    tchelper.log(f"accept -> bridged (the customer's first video at the agent): "
                 f"{a['answer_to_video_ms']} ms")


@suite.test
async def queued_customer_hears_hold_audio():
    """a customer alone in the queue gets hold audio over SRTP, then leaves"""
    srv = state["srv"]
    code, r, tail = await run_peer(["--url", srv.ws_url, "--role", "customer", "--desk",
                                    "id_check", "--queue-only", "--duration", "3",
                                    "--hold-audio-check", "--quiet"])
    suite.check(code == 0, "the queued customer's expectations hold", f"exit {code}: {tail}")
    if r:
        suite.check(not r["answered"] and r["audio"]["hold_voiced_windows"] > 0,
                    "audible hold audio before any answer", r["audio"])


@suite.test
async def agent_accepts_before_the_customer_offers():
    """the agent accepts before the customer's offer came (a slow camera prompt): the legs are
    joined when it comes, and each side hears the other"""
    srv = state["srv"]
    common = ["--url", srv.ws_url, "--duration", "5", "--max-loss", "0.01", "--quiet"]
    agent = asyncio.ensure_future(run_peer(
        common + ["--role", "agent", "--user", "mediaagent", "--password-stdin",
                  "--expect-tone", "440"], stdin=PASSWORD + "\n"))
    await asyncio.sleep(1.5)  # logged in and available before the customer joins
    customer = asyncio.ensure_future(tchelper.run_testpeer(
        common + ["--role", "customer", "--desk", "broadband", "--expect-tone", "660",
                  "--answer-timeout", "30"],
        env={"TC_PEER_OFFER_DELAY_MS": "2500"}, timeout=90, tail_lines=15))
    (c_code, c, c_tail), (a_code, a, a_tail) = await asyncio.gather(customer, agent)
    tchelper.log(f"customer: {summary(c)}")
    suite.check(c_code == 0, "the customer hears the agent's tone, video arrives",
                f"exit {c_code}: {c_tail}")
    suite.check(a_code == 0, "the agent hears the customer's tone, video arrives",
                f"exit {a_code}: {a_tail}")
    if c:
        suite.check(c["offered_after_answer"], "the customer's offer came after the answer",
                    {k: c.get(k) for k in ("answered", "offered_after_answer")})


@suite.test
async def pair_in_one_process():
    """a customer and an agent as two tc_peers on one loop in one process (--pair)"""
    srv = state["srv"]
    code, _, tail = await run_peer(["--url", srv.ws_url, "--pair", "--desk", "urgent_sim",
                                    "--user", "mediaagent", "--password-stdin", "--duration",
                                    "4", "--max-loss", "0.01", "--quiet"],
                                   stdin=PASSWORD + "\n")
    suite.check(code == 0, "tc-testpeer --pair exits 0", f"exit {code}: {tail}")


if __name__ == "__main__":
    suite.main()
