#!/usr/bin/python3
"""webrtcbin_customer.py: a telecounter customer made of GStreamer's webrtcbin, not a browser.

It speaks the signaling protocol of docs/protocol.md over the server's WebSocket (hello,
customer.join, offer, candidates both ways), sends a VP8 test picture and an Opus test tone
through one webrtcbin with bundle-policy max-bundle, and counts what it gets back from the
relay: decoded video frames, and the level of the decoded audio. It prints one JSON object
per line on stdout, for a test to read:

  {"event": "joined", "session_id": ...}        customer.join answered
  {"event": "offer", "sdp": ...}                the offer it sends
  {"event": "answer", "sdp": ...}               the server's answer (offer.ok)
  {"event": "remote-set"}                       webrtcbin took the answer
  {"event": "answered", "agent": ...}           session.answered: an agent took the call
  {"event": "stats", ...}                       every 0.5 s: see Customer.stats()
  {"event": "ended", "reason": ...}             session.ended; then it exits 0
  {"event": "error", "message": ...}            then it exits 1

Run it with Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-plugins-bad-1.0,
gstreamer1.0-nice, -good, -bad, python3-websockets), inside the network namespace the server
listens in. As tests must, the ICE agent never sends UPnP: webrtcbin's libnice agent has its
`upnp` property set FALSE before anything is gathered, and this script keeps references to
both objects for the pipeline's life.

  /usr/bin/python3 tools/peer/webrtcbin_customer.py --url wss://10.203.0.1:8443/ws \\
      --desk broadband [--timeout 120] [--hangup-after-s 0] [--audio-only]
"""

import argparse
import array
import asyncio
import json
import math
import signal
import ssl
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC  # noqa: E402

import websockets  # noqa: E402

# Sending: a moving test picture in VP8 and a 440 Hz tone in Opus. The audio sink pad is
# requested first, so the offer's m-lines come in the pages' order: audio, then video.
SEND_AUDIO = """
webrtcbin name=webrtc bundle-policy=max-bundle
audiotestsrc is-live=true wave=sine freq=440 volume=0.3
  ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1
  ! queue ! opusenc bitrate=32000 ! rtpopuspay pt=111
  ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000
  ! webrtc.sink_0
"""
SEND_VIDEO = """
videotestsrc is-live=true pattern=ball
  ! video/x-raw,width=320,height=240,framerate=15/1 ! videoconvert
  ! queue ! vp8enc deadline=1 target-bitrate=256000 keyframe-max-dist=15 ! rtpvp8pay pt=96
  ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000
  ! webrtc.sink_1
"""


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def insecure_ssl():
    """The test server's certificate is a throwaway self-signed one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Customer:
    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.ws = None
        self.next_id = 1
        self.replies = {}
        self.events = asyncio.Queue()
        self.session_id = None
        self.negotiation = asyncio.Event()
        self.remote_set = False
        self.offer_sent = False
        self.local_candidates = []
        self.remote_candidates = []
        self.video_frames = 0
        self.audio_buffers = 0
        self.audio_rms = 0.0  # of the last 0.5 s window, full scale = 1
        self.audio_peak_rms = 0.0
        self.window_sq = 0.0
        self.window_n = 0
        self.started = time.monotonic()
        self.pipe = None
        self.webrtc = None
        self.ice = None  # GstWebRTCNice: kept for the pipeline's life
        self.nice_agent = None  # its NiceAgent, upnp FALSE
        self.keep = []  # elements added at run time

    # ---- signaling -----------------------------------------------------------------------

    async def request(self, type_, **fields):
        rid = self.next_id
        self.next_id += 1
        fut = self.loop.create_future()
        self.replies[rid] = fut
        await self.ws.send(json.dumps({"type": type_, "id": rid, **fields}))
        reply = await asyncio.wait_for(fut, 15)
        if reply.get("type") == "error":
            raise RuntimeError(f"{type_}: {reply.get('code')}: {reply.get('message')}")
        return reply

    async def reader(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            rid = msg.get("id")
            if rid is not None and rid in self.replies:
                self.replies.pop(rid).set_result(msg)
            else:
                await self.events.put(msg)
        await self.events.put({"type": "ws.closed"})

    # ---- the pipeline (GStreamer threads call the on_* methods) --------------------------

    def build(self):
        self.pipe = Gst.parse_launch(SEND_AUDIO + ("" if self.args.audio_only else SEND_VIDEO))
        self.webrtc = self.pipe.get_by_name("webrtc")
        # Before anything gathers: no UPnP (SSDP multicast) from libnice, ever.
        self.ice = self.webrtc.get_property("ice-agent")
        self.nice_agent = self.ice.get_property("agent")
        self.nice_agent.set_property("upnp", False)
        if self.nice_agent.get_property("upnp"):
            raise RuntimeError("libnice agent keeps upnp on")
        for pad in self.webrtc.sinkpads:
            trans = pad.get_property("transceiver")
            trans.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
        self.webrtc.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.webrtc.connect("on-ice-candidate", self.on_ice_candidate)
        self.webrtc.connect("pad-added", self.on_incoming)

    def on_negotiation_needed(self, _element):
        self.loop.call_soon_threadsafe(self.negotiation.set)

    def on_ice_candidate(self, _element, mline, candidate):
        self.loop.call_soon_threadsafe(self.local_candidates.append, (mline, candidate))

    def on_incoming(self, _element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        dec = Gst.ElementFactory.make("decodebin")
        dec.connect("pad-added", self.on_decoded)
        self.keep.append(dec)
        self.pipe.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad("sink"))

    def on_decoded(self, _dec, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        if name.startswith("video/"):
            chain = "queue ! videoconvert ! fakesink name=sink sync=false"
            probe = self.count_video
        elif name.startswith("audio/"):
            chain = ("queue ! audioconvert ! audioresample "
                     "! audio/x-raw,format=S16LE,channels=1,rate=48000 ! fakesink name=sink sync=false")
            probe = self.measure_audio
        else:
            return
        bin_ = Gst.parse_bin_from_description(chain, True)
        self.keep.append(bin_)
        self.pipe.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))
        bin_.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)

    def count_video(self, _pad, _info):
        self.video_frames += 1
        return Gst.PadProbeReturn.OK

    def measure_audio(self, _pad, info):
        buf = info.get_buffer()
        ok, mapped = buf.map(Gst.MapFlags.READ)
        if ok:
            samples = array.array("h", bytes(mapped.data))
            buf.unmap(mapped)
            self.window_sq += sum(s * s for s in samples) / (32768.0 * 32768.0)
            self.window_n += len(samples)
            self.audio_buffers += 1
        return Gst.PadProbeReturn.OK

    def stats(self):
        """Decoded video frames and the RMS level (dBFS) of the last window of decoded audio."""
        if self.window_n:
            self.audio_rms = math.sqrt(self.window_sq / self.window_n)
            self.audio_peak_rms = max(self.audio_peak_rms, self.audio_rms)
        self.window_sq = 0.0
        self.window_n = 0
        db = 20 * math.log10(self.audio_rms) if self.audio_rms > 0 else -200.0
        return {
            "event": "stats",
            "t": round(time.monotonic() - self.started, 2),
            "video_frames": self.video_frames,
            "audio_buffers": self.audio_buffers,
            "audio_rms": round(self.audio_rms, 5),
            "audio_dbfs": round(db, 1),
            "audio_peak_rms": round(self.audio_peak_rms, 5),
            "connection": self.webrtc.get_property("connection-state").value_nick if self.webrtc else "none",
            "ice": self.webrtc.get_property("ice-connection-state").value_nick if self.webrtc else "none",
        }

    # ---- offer / answer ------------------------------------------------------------------

    async def promise(self, signal_name, *args):
        """Emits a webrtcbin action signal that takes a Gst.Promise; returns its reply."""
        fut = self.loop.create_future()

        def done(p):
            self.loop.call_soon_threadsafe(fut.set_result, p.get_reply())

        self.webrtc.emit(signal_name, *args, Gst.Promise.new_with_change_func(done))
        return await asyncio.wait_for(fut, 15)

    async def negotiate(self):
        await asyncio.wait_for(self.negotiation.wait(), 15)
        reply = await self.promise("create-offer", None)
        offer = reply.get_value("offer")
        await self.promise("set-local-description", offer)
        sdp = offer.sdp.as_text()
        emit({"event": "offer", "sdp": sdp})
        answer_msg = await self.request("offer", sdp=sdp)
        emit({"event": "answer", "sdp": answer_msg["sdp"]})
        res, sdpmsg = GstSdp.SDPMessage.new_from_text(answer_msg["sdp"])
        if res != GstSdp.SDPResult.OK:
            raise RuntimeError("the server's answer does not parse")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdpmsg)
        reply = await self.promise("set-remote-description", answer)
        err = reply.get_value("error") if reply and reply.has_field("error") else None
        if err:
            raise RuntimeError(f"webrtcbin refused the answer: {err.message}")
        self.remote_set = True
        self.offer_sent = True
        emit({"event": "remote-set"})

    async def trickle(self):
        """Sends our candidates once the offer was answered; gives webrtcbin the server's."""
        while True:
            if self.offer_sent:
                while self.local_candidates:
                    mline, cand = self.local_candidates.pop(0)
                    await self.request("candidate", candidate=cand, sdpMLineIndex=mline, sdpMid=None)
            if self.remote_set:
                while self.remote_candidates:
                    mline, cand = self.remote_candidates.pop(0)
                    self.webrtc.emit("add-ice-candidate", mline, cand)
            await asyncio.sleep(0.05)

    # ---- the run -------------------------------------------------------------------------

    async def handle_events(self):
        while True:
            msg = await self.events.get()
            t = msg.get("type")
            if t == "candidate":
                cand = msg.get("candidate") or ""
                if cand:
                    self.remote_candidates.append((msg.get("sdpMLineIndex") or 0, cand))
            elif t == "session.answered":
                emit({"event": "answered", "agent": msg.get("agent"),
                      "t": round(time.monotonic() - self.started, 2), "video_frames": self.video_frames})
                if self.args.hangup_after_s:
                    self.loop.call_later(self.args.hangup_after_s,
                                         lambda: asyncio.ensure_future(self.request("hangup")))
            elif t == "session.ended":
                emit({"event": "ended", "reason": msg.get("reason")})
                return
            elif t == "ws.closed":
                raise RuntimeError("the server closed the WebSocket")

    async def report(self):
        while True:
            await asyncio.sleep(0.5)
            emit(self.stats())

    async def run(self):
        self.ws = await websockets.connect(self.args.url, ssl=insecure_ssl(), origin=self.args.origin,
                                           compression=None, max_size=1 << 20)
        tasks = [asyncio.ensure_future(self.reader())]
        try:
            await self.request("hello", protocol=1)
            joined = await self.request("customer.join", desk=self.args.desk)
            self.session_id = joined["session_id"]
            emit({"event": "joined", "session_id": self.session_id, "position": joined.get("position")})
            self.build()
            self.pipe.set_state(Gst.State.PLAYING)
            events = asyncio.ensure_future(self.handle_events())
            tasks += [events, asyncio.ensure_future(self.trickle()), asyncio.ensure_future(self.report())]
            await self.negotiate()
            await events
        finally:
            for t in tasks:
                t.cancel()
            emit(self.stats())
            await self.ws.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="the server's WebSocket, wss://HOST:PORT/ws")
    ap.add_argument("--origin", help="Origin header (default: https://HOST:PORT of --url)")
    ap.add_argument("--desk", default="broadband")
    ap.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    ap.add_argument("--audio-only", action="store_true",
                    help="offer one audio m-line and no video (a customer without a camera)")
    ap.add_argument("--hangup-after-s", type=float, default=0.0,
                    help="hang up this long after an agent answers (0: never; wait for the end)")
    args = ap.parse_args()
    if not args.origin:
        args.origin = "https://" + args.url.split("://", 1)[1].split("/", 1)[0]
    Gst.init(None)
    loop = asyncio.new_event_loop()
    cust = Customer(args, loop)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: [t.cancel() for t in asyncio.all_tasks(loop)])
    code = 0
    try:
        loop.run_until_complete(asyncio.wait_for(cust.run(), args.timeout))
    except (Exception, asyncio.CancelledError) as e:  # noqa: BLE001 (a report, then exit 1)
        emit({"event": "error", "message": f"{type(e).__name__}: {e}"})
        code = 1
    finally:
        if cust.pipe is not None:
            cust.pipe.set_state(Gst.State.NULL)
        loop.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
