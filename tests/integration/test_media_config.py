#!/usr/bin/python3
"""Integration: the relay's candidate settings, seen in the candidates it trickles.

media.public_address (1:1 NAT): every host candidate is announced again with that
address and the same port, under a foundation of its own. media.ice_tcp: passive
ICE-TCP candidates are offered too. Neither appears when not configured. The offer
carries no candidates of its own, so the relay sends no connectivity checks anywhere;
127.0.0.9 is only written into candidates, never sent to.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tchelper  # noqa: E402
from tchelper import FAKE_SDP, Suite  # noqa: E402

S = Suite("media_config")
PUBLIC = "127.0.0.9"


async def trickled(srv):
    """The candidate lines the relay trickles after answering a customer's offer."""
    c = await srv.customer()
    r = await c.request("offer", sdp=FAKE_SDP)
    S.check_reply(r, "offer", f"{srv.name}: the offer is answered")
    lines = []
    while True:
        ev = await c.maybe_event("candidate", 5.0)
        if ev is None or ev.get("candidate") == "":
            break
        lines.append(ev["candidate"])
    return lines


def fields(line):
    """candidate:F C transport priority address port typ type ... -> a dict."""
    t = line.split()
    return {"foundation": t[0].split(":", 1)[1], "transport": t[2].lower(), "address": t[4],
            "port": t[5], "type": t[7], "tcptype": t[t.index("tcptype") + 1]
            if "tcptype" in t else None}


@S.test
async def public_address_and_ice_tcp():
    """With public_address and ice_tcp set, both show in the trickled candidates."""
    srv = S.server(config={"media": {"loopback": "true", "public_address": PUBLIC,
                                     "ice_tcp": "true"}}, name="cands")
    srv.start()
    cands = [fields(x) for x in await trickled(srv)]
    tchelper.log(f"candidates: {cands}")
    host = [c for c in cands if c["transport"] == "udp" and c["address"] == "127.0.0.1"]
    S.check(host, "a UDP host candidate on 127.0.0.1", cands)
    public = [c for c in cands if c["address"] == PUBLIC]
    S.check(public and {c["port"] for c in public if c["transport"] == "udp"} ==
            {c["port"] for c in host},
            "each UDP host candidate is announced again with the public address, same port",
            public)
    S.check(all(p["foundation"] not in {c["foundation"] for c in host} for p in public),
            "the public-address candidates have foundations of their own", public)
    tcp = [c for c in cands if c["transport"] == "tcp" and c["tcptype"] == "passive"]
    S.check(tcp, "a passive ICE-TCP candidate is offered", cands)


@S.test
async def neither_by_default():
    """Without those settings: UDP on 127.0.0.1 only."""
    srv = S.server(config={"media": {"loopback": "true"}}, name="plain")
    srv.start()
    cands = [fields(x) for x in await trickled(srv)]
    S.check(cands and all(c["address"] == "127.0.0.1" for c in cands),
            "every candidate is on 127.0.0.1", cands)
    S.check(all(c["transport"] == "udp" for c in cands), "no TCP candidate", cands)


if __name__ == "__main__":
    S.main()
