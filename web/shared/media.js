// media.js: camera/microphone helpers and the one peer connection with the relay.
//
// The browser offers, the server answers in `offer.ok` {sdp}; ICE candidates trickle both
// ways (`candidate` requests up, `candidate` events down; "" ends them). A second offer on
// the same session (ICE restart, or a new peer connection after a reload) keeps the call.

export const GUM_ERRORS = ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'OverconstrainedError'];

// The error's name, folded into one of GUM_ERRORS or 'other'.
export function gumErrorKind(err) {
    const name = (err && err.name) || '';
    if (name === 'NotAllowedError' || name === 'PermissionDeniedError' || name === 'SecurityError') return 'NotAllowedError';
    if (name === 'NotFoundError' || name === 'DevicesNotFoundError') return 'NotFoundError';
    if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'NotReadableError';
    if (name === 'OverconstrainedError' || name === 'ConstraintNotSatisfiedError') return 'OverconstrainedError';
    return 'other';
}

// What this browser can do. inApp: a known in-app browser (social / chat apps).
export function browserSupport() {
    const ua = navigator.userAgent || '';
    const inApp = /FBAN|FBAV|FB_IAB|Instagram|Line\/|MicroMessenger|WeChat|Weibo|QQ\/|Twitter|Snapchat|TikTok|musical_ly|BytedanceWebview|\bwv\)/i.test(ua);
    const pc = typeof window.RTCPeerConnection === 'function';
    const gum = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    const secure = window.isSecureContext !== false;
    return { pc, gum, secure, inApp, ok: pc && gum && secure };
}

// Video constraints for a camera choice: 'facing:user', 'facing:environment' or 'device:<id>'.
export function videoConstraints(choice) {
    const base = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };
    if (!choice || choice === 'facing:user') return { ...base, facingMode: 'user' };
    if (choice === 'facing:environment') return { ...base, facingMode: { ideal: 'environment' } };
    if (choice.startsWith('device:')) return { ...base, deviceId: { exact: choice.slice(7) } };
    return base;
}

export async function getCamera(choice, { audio = true } = {}) {
    return navigator.mediaDevices.getUserMedia({
        audio: audio ? { echoCancellation: true, noiseSuppression: true, autoGainControl: true } : false,
        video: videoConstraints(choice),
    });
}

export async function listCameras() {
    try {
        const all = await navigator.mediaDevices.enumerateDevices();
        return all.filter((d) => d.kind === 'videoinput');
    } catch {
        return [];
    }
}

// A microphone level meter (WebAudio AnalyserNode). cb(level 0..1) about 15 times a second.
export function levelMeter(stream, cb) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || !stream.getAudioTracks().length) return { stop() {} };
    const ctx = new Ctx();
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 1024;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    let stopped = false;
    const tick = () => {
        if (stopped) return;
        an.getFloatTimeDomainData(buf);
        let sum = 0;
        for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
        const rms = Math.sqrt(sum / buf.length);
        cb(Math.min(1, rms * 4));
    };
    const timer = setInterval(tick, 66);
    ctx.resume().catch(() => {});
    return {
        ctx,
        stop() {
            stopped = true;
            clearInterval(timer);
            try {
                src.disconnect();
                ctx.close();
            } catch {
                /* already closed */
            }
        },
    };
}

// Plays a media element; when autoplay is blocked, shows `fallbackButton` until the user taps.
export function playWithFallback(el, fallbackButton) {
    const p = el.play();
    if (!p || !p.catch) return;
    p.then(() => {
        if (fallbackButton) fallbackButton.hidden = true;
    }).catch((e) => {
        if (e && e.name === 'AbortError') return; // a newer srcObject replaced this one
        if (!fallbackButton) return;
        fallbackButton.hidden = false;
        fallbackButton.onclick = () => {
            el.play().then(() => {
                fallbackButton.hidden = true;
            }).catch(() => {});
        };
    });
}

// How long inbound video may decode no frame, while video is expected, before the quality
// label stops saying the connection is good (a frozen picture is not a good connection).
export const VIDEO_STALL_MS = 3000;

// The peer connection with the relay. sig: a Signaling. Callbacks: onTrack(stream),
// onState(state) with 'new'|'connecting'|'connected'|'disconnected'|'failed'|'closed',
// onAnswer(reply) with each `offer.ok` applied (its `video: false` says the call is audio-only).
export class RelayLink {
    constructor(sig, { onTrack, onState, onAnswer } = {}) {
        this.sig = sig;
        this.onTrack = onTrack || (() => {});
        this.onStateCb = onState || (() => {});
        this.onAnswer = onAnswer || (() => {});
        this.frames = null; // {count, at}: the last time inbound video frames were seen to grow
        this.pc = null;
        this.stream = null;
        this.remoteStream = new MediaStream();
        this.localQueue = []; // our candidates, before the offer's reply
        this.remoteQueue = []; // the server's, before its answer is applied
        this.answerUfrag = null;
        this.offering = false;
        this.canTrickle = false;
        this.remoteSet = false;
        this.generation = 0;
        this.closed = false;
        this.lastStats = null;
        this.unsub = sig.on('candidate', (m) => this.onServerCandidate(m));
        this.restartTimer = null;
    }

    // Creates the peer connection with `stream`'s tracks (one audio, one video m-line even
    // without a camera, so that the relay can always send both).
    create(stream) {
        this.stream = stream;
        const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
        this.pc = pc;
        const audio = stream && stream.getAudioTracks()[0];
        const video = stream && stream.getVideoTracks()[0];
        if (audio) pc.addTrack(audio, stream);
        else pc.addTransceiver('audio', { direction: 'recvonly' });
        if (video) pc.addTrack(video, stream);
        else pc.addTransceiver('video', { direction: 'recvonly' });
        pc.onicecandidate = (e) => {
            const c = e.candidate;
            const msg = c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : { candidate: '' };
            if (this.canTrickle) this.sendCandidate(msg);
            else this.localQueue.push(msg);
        };
        pc.ontrack = (e) => {
            if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
            this.onTrack(this.remoteStream);
        };
        pc.onconnectionstatechange = () => this.stateChanged();
        pc.oniceconnectionstatechange = () => this.stateChanged();
        return pc;
    }

    stateChanged() {
        if (!this.pc) return;
        const s = this.pc.connectionState || this.pc.iceConnectionState;
        this.onStateCb(s);
        clearTimeout(this.restartTimer);
        if (s === 'failed') {
            this.restartIce();
        } else if (s === 'disconnected') {
            // Often recovers by itself; if not within 4 s, restart ICE.
            this.restartTimer = setTimeout(() => {
                if (this.pc && this.pc.connectionState === 'disconnected') this.restartIce();
            }, 4000);
        }
    }

    sendCandidate(msg) {
        this.sig.request('candidate', msg).catch(() => {
            /* a candidate lost with the connection: the next offer gathers again */
        });
    }

    // Sends an offer (iceRestart: new ICE credentials on the same connection) and applies the
    // server's answer. Throws a SignalError when the server refuses it.
    async offer({ iceRestart = false } = {}) {
        if (!this.pc || this.closed) return;
        if (this.offering) {
            this.offerAgain = this.offerAgain || iceRestart || true;
            return;
        }
        this.offering = true;
        const gen = ++this.generation;
        try {
            this.canTrickle = false;
            this.remoteSet = false;
            this.localQueue = [];
            if (this.pc.signalingState !== 'stable') {
                await this.pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
            }
            const offer = await this.pc.createOffer({ iceRestart });
            await this.pc.setLocalDescription(offer);
            const reply = this.sig.request('offer', { sdp: this.pc.localDescription.sdp });
            // Candidates gathered so far go out right behind the offer.
            this.canTrickle = true;
            for (const m of this.localQueue.splice(0)) this.sendCandidate(m);
            const ok = await reply;
            if (gen !== this.generation || !this.pc) return;
            const uf = /^a=ice-ufrag:(\S+)/m.exec(ok.sdp || '');
            this.answerUfrag = uf ? uf[1] : null;
            await this.pc.setRemoteDescription({ type: 'answer', sdp: ok.sdp });
            this.remoteSet = true;
            this.onAnswer(ok);
            for (const m of this.remoteQueue.splice(0)) await this.addRemote(m);
        } finally {
            this.offering = false;
        }
        if (this.offerAgain) {
            this.offerAgain = false;
            await this.offer({ iceRestart: true });
        }
    }

    async restartIce() {
        if (!this.pc || this.closed || !this.sig.connected) return;
        try {
            await this.offer({ iceRestart: true });
        } catch {
            /* the next state change or reconnect tries again */
        }
    }

    onServerCandidate(msg) {
        if (!this.pc || this.closed) return;
        if (this.remoteSet) this.addRemote(msg);
        else this.remoteQueue.push(msg);
    }

    async addRemote(msg) {
        const c = msg.candidate;
        const uf = c ? / ufrag (\S+)/.exec(c) : null;
        if (uf && this.answerUfrag && uf[1] !== this.answerUfrag) return; // an older ICE session's
        try {
            if (!c) await this.pc.addIceCandidate();
            else {
                await this.pc.addIceCandidate({
                    candidate: c,
                    sdpMid: msg.sdpMid ?? null,
                    sdpMLineIndex: msg.sdpMLineIndex ?? (msg.sdpMid == null ? 0 : null),
                });
            }
        } catch {
            /* a candidate of an ICE generation we no longer use */
        }
    }

    sender(kind) {
        if (!this.pc) return null;
        const t = this.pc.getTransceivers().find((x) => x.receiver.track && x.receiver.track.kind === kind);
        return t ? t.sender : null;
    }

    async replaceVideoTrack(track) {
        const s = this.sender('video');
        if (s) await s.replaceTrack(track);
    }

    // Connection quality from getStats(): {rttMs, lossPct, level: 'good'|'fair'|'poor'|'unknown'|
    // 'stalled', inVideoKbps, framesDecoded, pair}. 'stalled': video is expected (expectVideo)
    // but no inbound frame was decoded for VIDEO_STALL_MS, whatever the round trip and loss say.
    async quality({ expectVideo = true } = {}) {
        if (!this.pc) return { level: 'unknown' };
        const report = await this.pc.getStats();
        let pair = null;
        let transport = null;
        let lost = 0;
        let received = 0;
        let bytes = 0;
        let framesDecoded = 0;
        const byId = new Map();
        report.forEach((s) => byId.set(s.id, s));
        report.forEach((s) => {
            if (s.type === 'transport') transport = s;
            if (s.type === 'inbound-rtp') {
                lost += s.packetsLost || 0;
                received += s.packetsReceived || 0;
                bytes += s.bytesReceived || 0;
                if (s.kind === 'video') framesDecoded = s.framesDecoded || 0;
            }
        });
        if (transport && transport.selectedCandidatePairId) pair = byId.get(transport.selectedCandidatePairId);
        if (!pair) report.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
        const now = performance.now();
        const prev = this.lastStats;
        this.lastStats = { at: now, lost, received, bytes };
        const rttMs = pair && pair.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null;
        let lossPct = null;
        let inKbps = null;
        if (prev) {
            const dl = lost - prev.lost;
            const dr = received - prev.received;
            lossPct = dl + dr > 0 ? Math.max(0, (100 * dl) / (dl + dr)) : 0;
            inKbps = Math.round(((bytes - prev.bytes) * 8) / Math.max(1, now - prev.at));
        }
        let level = 'unknown';
        if (rttMs !== null || lossPct !== null) {
            const r = rttMs ?? 0;
            const l = lossPct ?? 0;
            level = r < 250 && l < 2 ? 'good' : r < 500 && l < 8 ? 'fair' : 'poor';
        }
        if (expectVideo && this.videoStalled(framesDecoded, now)) level = 'stalled';
        else if (!expectVideo) this.frames = null;
        const local = pair && byId.get(pair.localCandidateId);
        return { rttMs, lossPct: lossPct === null ? null : Math.round(lossPct * 10) / 10, level, inKbps, framesDecoded,
            pairType: local ? `${local.candidateType}/${local.protocol}` : null };
    }

    // True when `count` (inbound video framesDecoded) has not grown for VIDEO_STALL_MS. The
    // clock starts at the first sample, so a picture that never started counts as stalled too.
    videoStalled(count, now) {
        if (!this.frames || count !== this.frames.count) {
            this.frames = { count, at: now };
            return false;
        }
        return now - this.frames.at >= VIDEO_STALL_MS;
    }

    close() {
        this.closed = true;
        clearTimeout(this.restartTimer);
        this.unsub();
        if (this.pc) {
            this.pc.onconnectionstatechange = null;
            this.pc.oniceconnectionstatechange = null;
            this.pc.close();
        }
        this.pc = null;
    }
}

export function stopStream(stream) {
    if (stream) for (const t of stream.getTracks()) t.stop();
}
