// client.js: a small in-page telecounter client for the e2e tests (docs/protocol.md).
// Injected into a page of the server (page.addScriptTag); the test drives it with
// page.evaluate. It speaks the signaling protocol over wss://HOST/ws and holds ONE
// RTCPeerConnection with the server (the media relay): the browser offers, the server
// answers in `offer.ok` {sdp}; candidates trickle both ways; `candidate` "" ends them.
//
//   const c = new TcClient('customer');  await c.connect(wsUrl);
//   await c.request('customer.join', {desk: 'broadband'});
//   await c.startMedia();                 // getUserMedia + pc + createOffer + setLocalDescription
//   await c.sendOffer();                  // `offer`; answer from offer.ok.sdp; trickle
//   await c.stats();                      // a summary of getStats()
/* eslint-env browser */
(function () {
    'use strict';

    const now = () => performance.now();
    const short = (s, n = 300) => (s && s.length > n ? s.slice(0, n) + '…' : s);

    class TcClient {
        constructor(role) {
            this.role = role;
            this.ws = null;
            this.nextId = 1;
            this.pending = new Map(); // id -> {resolve, type}
            this.events = []; // {msg, at, used}
            this.waiters = []; // {pred, resolve}
            this.transcript = []; // what went over the socket, for failure reports
            this.closeCode = null;
            this.pc = null;
            this.stream = null;
            this.offerSent = false;
            this.remoteSet = false;
            this.localCandidates = []; // candidate strings we gathered
            this.candidateQueue = []; // ours, before the offer went out
            this.remoteQueue = []; // the server's, before the answer was applied
            this.remoteCandidates = []; // the server's, as received
            this.droppedCandidates = []; // candidate events not for our ICE session
            this.candidateErrors = [];
            this.answerSdp = null;
            this.answerUfrag = null;
            this.answerFingerprint = null;
            this.marks = {}; // name -> ms since offer sent (t0)
            this.marksAbs = {}; // name -> ms since the epoch (compare across pages)
            this.t0 = null;
            this.statePath = [];
        }

        log(dir, msg) {
            const m = { ...msg };
            if (typeof m.sdp === 'string') m.sdp = `<${m.sdp.length} bytes>`;
            this.transcript.push(`${(now() / 1000).toFixed(3)} ${dir} ${short(JSON.stringify(m))}`);
        }

        mark(name) {
            if (this.marksAbs[name] === undefined) {
                this.marksAbs[name] = performance.timeOrigin + now();
                if (this.t0 !== null) this.marks[name] = Math.round(now() - this.t0);
            }
        }

        connect(url, timeoutMs = 10000) {
            return new Promise((resolve, reject) => {
                const ws = new WebSocket(url);
                this.ws = ws;
                const timer = setTimeout(() => reject(new Error(`WebSocket ${url}: no open in ${timeoutMs} ms`)), timeoutMs);
                ws.onopen = () => {
                    clearTimeout(timer);
                    resolve(true);
                };
                ws.onerror = () => {
                    clearTimeout(timer);
                    reject(new Error(`WebSocket ${url}: error before open`));
                };
                ws.onclose = (e) => {
                    this.closeCode = e.code;
                    this.transcript.push(`closed ${e.code} ${e.reason}`);
                };
                ws.onmessage = (e) => this.onMessage(e.data);
            });
        }

        onMessage(data) {
            let msg;
            try {
                msg = JSON.parse(data);
            } catch {
                this.transcript.push(`< unparseable ${short(String(data))}`);
                return;
            }
            this.log('<', msg);
            if (msg.id !== undefined && msg.id !== null && this.pending.has(msg.id)) {
                const p = this.pending.get(msg.id);
                this.pending.delete(msg.id);
                p.resolve(msg);
                return;
            }
            if (msg.type === 'candidate') this.onServerCandidate(msg);
            const ev = { msg, at: now(), used: false };
            this.events.push(ev);
            for (const w of [...this.waiters]) {
                if (!ev.used && w.pred(msg)) {
                    ev.used = true;
                    this.waiters.splice(this.waiters.indexOf(w), 1);
                    w.resolve(msg);
                }
            }
        }

        send(msg) {
            this.log('>', msg);
            this.ws.send(JSON.stringify(msg));
        }

        request(type, fields = {}, timeoutMs = 10000) {
            const id = this.nextId++;
            return new Promise((resolve) => {
                const timer = setTimeout(() => {
                    this.pending.delete(id);
                    resolve({ type: 'timeout', id, message: `no reply to ${type} in ${timeoutMs} ms` });
                }, timeoutMs);
                this.pending.set(id, {
                    type,
                    resolve: (m) => {
                        clearTimeout(timer);
                        resolve(m);
                    },
                });
                this.send({ type, id, ...fields });
            });
        }

        // The first not yet consumed event of `type` (matching `fields`), waiting up to timeoutMs.
        waitEvent(type, fields = {}, timeoutMs = 10000) {
            const pred = (m) => m.type === type && Object.entries(fields).every(([k, v]) => m[k] === v);
            const ev = this.events.find((e) => !e.used && pred(e.msg));
            if (ev) {
                ev.used = true;
                return Promise.resolve(ev.msg);
            }
            return new Promise((resolve) => {
                const w = { pred, resolve };
                this.waiters.push(w);
                setTimeout(() => {
                    const i = this.waiters.indexOf(w);
                    if (i >= 0) {
                        this.waiters.splice(i, 1);
                        resolve({ type: 'timeout', message: `no ${type} event in ${timeoutMs} ms` });
                    }
                }, timeoutMs);
            });
        }

        eventTypes() {
            return this.events.map((e) => e.msg.type);
        }

        // --- media ------------------------------------------------------------------

        // getUserMedia (fake devices), a peer connection with the server, both tracks
        // sendrecv, createOffer + setLocalDescription. Returns a description of the offer.
        async startMedia() {
            const t = now();
            this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
            const gumMs = Math.round(now() - t);
            this.attach('local', this.stream, true);
            const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
            this.pc = pc;
            for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
            pc.onicecandidate = (e) => {
                const c = e.candidate;
                const msg = c
                    ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
                    : { candidate: '' };
                if (c) this.localCandidates.push(c.candidate);
                if (this.offerSent) this.sendCandidate(msg);
                else this.candidateQueue.push(msg);
            };
            const remote = new MediaStream();
            this.remoteStream = remote;
            pc.ontrack = (e) => {
                remote.addTrack(e.track);
                this.attach('remote', remote, false);
            };
            pc.oniceconnectionstatechange = () => {
                this.statePath.push(`ice:${pc.iceConnectionState}`);
                if (pc.iceConnectionState === 'connected') this.mark('iceConnected');
            };
            pc.onconnectionstatechange = () => {
                this.statePath.push(`pc:${pc.connectionState}`);
                if (pc.connectionState === 'connected') this.mark('connected');
            };
            const offer = await pc.createOffer();
            await pc.setLocalDescription(offer);
            const sdp = pc.localDescription.sdp;
            return {
                gumMs,
                tracks: this.stream.getTracks().map((tr) => ({ kind: tr.kind, label: tr.label, state: tr.readyState })),
                offerBytes: sdp.length,
                mlines: (sdp.match(/^m=\w+/gm) || []).map((m) => m.slice(2)),
                bundle: /^a=group:BUNDLE /m.test(sdp),
                fingerprint: /^a=fingerprint:sha-256 /m.test(sdp),
                video: (sdp.match(/^a=rtpmap:\d+ (VP8|VP9|H264|AV1)\//gm) || []).length,
                opus: /^a=rtpmap:\d+ opus\/48000\/2/m.test(sdp),
            };
        }

        attach(which, stream, muted) {
            let box = document.getElementById('tc-e2e');
            if (!box) {
                document.body.innerHTML = '';
                box = document.createElement('div');
                box.id = 'tc-e2e';
                box.style.cssText = 'font:14px sans-serif;padding:8px';
                const h = document.createElement('h3');
                h.textContent = `telecounter e2e: ${this.role}`;
                box.appendChild(h);
                document.body.appendChild(box);
            }
            const id = `tc-${which}`;
            let v = document.getElementById(id);
            if (!v) {
                const fig = document.createElement('figure');
                fig.style.cssText = 'display:inline-block;margin:4px';
                v = document.createElement('video');
                v.id = id;
                v.autoplay = true;
                v.playsInline = true;
                v.muted = muted;
                v.width = 320;
                v.height = 240;
                v.style.background = '#222';
                const cap = document.createElement('figcaption');
                cap.textContent = which === 'local' ? 'local camera (fake)' : 'from the relay';
                fig.appendChild(v);
                fig.appendChild(cap);
                box.appendChild(fig);
            }
            if (v.srcObject !== stream) v.srcObject = stream;
            v.play().catch(() => {});
            if (which === 'remote' && v.requestVideoFrameCallback && !this.rvfc) {
                this.rvfc = true;
                v.requestVideoFrameCallback(() => this.mark('firstFrameRendered'));
            }
        }

        sendCandidate(msg) {
            this.request('candidate', msg).then((r) => {
                if (r.type !== 'candidate.ok') this.candidateErrors.push(short(JSON.stringify(r)));
            });
        }

        // Sends `offer`; when the reply carries the server's answer, applies it. Trickles our
        // candidates (queued ones first). Returns {reply, hasSdp, applied, error}.
        async sendOffer(timeoutMs = 10000) {
            this.t0 = now();
            this.mark('offerSent');
            const pending = this.request('offer', { sdp: this.pc.localDescription.sdp }, timeoutMs);
            this.offerSent = true;
            for (const m of this.candidateQueue.splice(0)) this.sendCandidate(m);
            const reply = await pending;
            this.mark('offerReply');
            const out = { reply: { ...reply, sdp: reply.sdp ? `<${reply.sdp.length} bytes>` : reply.sdp },
                hasSdp: typeof reply.sdp === 'string' && reply.sdp.length > 0, applied: false, error: null };
            if (reply.type !== 'offer.ok' || !out.hasSdp) return out;
            this.answerSdp = reply.sdp;
            const uf = /^a=ice-ufrag:(\S+)/m.exec(reply.sdp);
            const fp = /^a=fingerprint:sha-256 (\S+)/m.exec(reply.sdp);
            this.answerUfrag = uf ? uf[1] : null;
            this.answerFingerprint = fp ? fp[1].toUpperCase() : null;
            try {
                await this.pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
                this.remoteSet = true;
                out.applied = true;
                this.mark('answerApplied');
                for (const m of this.remoteQueue.splice(0)) await this.addRemote(m);
            } catch (e) {
                out.error = `setRemoteDescription: ${e.name}: ${e.message}`;
            }
            this.startFirstMediaWatch();
            return out;
        }

        // A `candidate` event: the server's candidate (or "" = end of them).
        onServerCandidate(msg) {
            this.remoteCandidates.push(msg.candidate);
            if (this.remoteSet) this.addRemote(msg);
            else this.remoteQueue.push(msg);
        }

        async addRemote(msg) {
            const c = msg.candidate;
            // A candidate naming another ICE session (ufrag) is not the server's for us.
            const uf = c ? / ufrag (\S+)/.exec(c) : null;
            if (uf && this.answerUfrag && uf[1] !== this.answerUfrag) {
                this.droppedCandidates.push(c);
                return;
            }
            try {
                if (c === '' || c === undefined || c === null) {
                    await this.pc.addIceCandidate();
                } else {
                    await this.pc.addIceCandidate({
                        candidate: c,
                        sdpMid: msg.sdpMid ?? null,
                        sdpMLineIndex: msg.sdpMLineIndex ?? (msg.sdpMid == null ? 0 : null),
                    });
                }
            } catch (e) {
                this.candidateErrors.push(`addIceCandidate(${short(c, 120)}): ${e.message}`);
            }
        }

        // Notes when the first video frame is decoded and the first audio packet arrives.
        startFirstMediaWatch() {
            if (this.watch) return;
            this.watch = setInterval(async () => {
                const s = await this.stats();
                if (s.video && s.video.framesDecoded > 0) this.mark('firstFrameDecoded');
                if (s.audio && s.audio.packetsReceived > 0) this.mark('firstAudioPacket');
                if (this.marks.firstFrameDecoded !== undefined && this.marks.firstAudioPacket !== undefined) {
                    clearInterval(this.watch);
                }
            }, 50);
            setTimeout(() => clearInterval(this.watch), 60000);
        }

        // SHA-256 fingerprint (AA:BB:…) of the DTLS peer's certificate, from the DTLS transport.
        async remoteCertFingerprint() {
            const sender = this.pc && this.pc.getSenders().find((x) => x.transport);
            const t = sender && sender.transport;
            if (!t || t.state !== 'connected' || typeof t.getRemoteCertificates !== 'function') return null;
            const certs = t.getRemoteCertificates();
            if (!certs || !certs.length) return null;
            const h = new Uint8Array(await crypto.subtle.digest('SHA-256', certs[0]));
            return [...h].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
        }

        // A summary of getStats(): inbound/outbound RTP per kind, the selected candidate
        // pair with both candidates, DTLS/SRTP, certificates.
        async stats() {
            const out = { at: Math.round(now()), iceState: null, pcState: null };
            if (!this.pc) return out;
            out.iceState = this.pc.iceConnectionState;
            out.pcState = this.pc.connectionState;
            const report = await this.pc.getStats();
            const byId = new Map();
            report.forEach((s) => byId.set(s.id, s));
            const cand = (id) => {
                const c = byId.get(id);
                return c && { address: c.address, port: c.port, protocol: c.protocol, candidateType: c.candidateType };
            };
            let transport = null;
            out.localCandidates = [];
            report.forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'video') {
                    const codec = byId.get(s.codecId);
                    out.video = { framesDecoded: s.framesDecoded || 0, framesReceived: s.framesReceived || 0,
                        packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0,
                        packetsLost: s.packetsLost || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
                        frameWidth: s.frameWidth, frameHeight: s.frameHeight, fps: s.framesPerSecond,
                        codec: codec && codec.mimeType };
                } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
                    const codec = byId.get(s.codecId);
                    out.audio = { packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0,
                        audioLevel: s.audioLevel || 0, totalAudioEnergy: s.totalAudioEnergy || 0,
                        totalSamplesReceived: s.totalSamplesReceived || 0, packetsLost: s.packetsLost || 0,
                        jitter: s.jitter, codec: codec && codec.mimeType };
                } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
                    out.outVideo = { packetsSent: s.packetsSent || 0, framesEncoded: s.framesEncoded || 0 };
                } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
                    out.outAudio = { packetsSent: s.packetsSent || 0 };
                } else if (s.type === 'transport') {
                    transport = s;
                } else if (s.type === 'local-candidate') {
                    out.localCandidates.push(`${s.address}:${s.port}/${s.protocol}`);
                }
            });
            let pair = null;
            if (transport) {
                out.dtlsState = transport.dtlsState;
                out.srtpCipher = transport.srtpCipher;
                out.dtlsCipher = transport.dtlsCipher;
                out.tlsVersion = transport.tlsVersion;
                out.dtlsRole = transport.dtlsRole;
                const lc = byId.get(transport.localCertificateId);
                const rc = byId.get(transport.remoteCertificateId);
                out.localFingerprint = lc ? lc.fingerprint.toUpperCase() : null;
                out.remoteFingerprint = rc ? rc.fingerprint.toUpperCase() : null;
                // Chromium caches certificate stats from the first getStats(); one taken before
                // the handshake finished never shows the peer's. Ask the DTLS transport then.
                if (!out.remoteFingerprint) out.remoteFingerprint = await this.remoteCertFingerprint();
                if (!out.localFingerprint) {
                    const m = /^a=fingerprint:sha-256 (\S+)/m.exec(this.pc.localDescription.sdp);
                    out.localFingerprint = m ? m[1].toUpperCase() : null;
                }
                pair = byId.get(transport.selectedCandidatePairId) || null;
            }
            if (!pair) {
                report.forEach((s) => {
                    if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
                });
            }
            if (pair) {
                out.pair = { state: pair.state, nominated: pair.nominated, rttMs: pair.currentRoundTripTime !== undefined
                    ? Math.round(pair.currentRoundTripTime * 1000 * 10) / 10 : null,
                local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId) };
            }
            return out;
        }

        // Replaces the camera by a canvas of one colour (rgb: [r, g, b]), so that the other
        // page can tell whose picture it gets.
        async paintVideo(rgb) {
            const c = document.createElement('canvas');
            c.width = 320;
            c.height = 240;
            const g = c.getContext('2d');
            let n = 0;
            const draw = () => {
                g.fillStyle = `rgb(${rgb.join(',')})`;
                g.fillRect(0, 0, c.width, c.height);
                g.fillStyle = n++ % 2 ? '#000' : '#fff'; // a changing pixel keeps frames coming
                g.fillRect(0, 0, 2, 2);
            };
            draw();
            if (this.painter) clearInterval(this.painter);
            this.painter = setInterval(draw, 50);
            const track = c.captureStream(20).getVideoTracks()[0];
            const sender = this.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
            await sender.replaceTrack(track);
            return track.readyState;
        }

        // The mean colour of the centre of the remote video, [r, g, b], or null before a frame.
        remoteColor() {
            const v = document.getElementById('tc-remote');
            if (!v || !v.videoWidth) return null;
            const c = document.createElement('canvas');
            c.width = 32;
            c.height = 24;
            const g = c.getContext('2d', { willReadFrequently: true });
            g.drawImage(v, v.videoWidth / 4, v.videoHeight / 4, v.videoWidth / 2, v.videoHeight / 2, 0, 0, 32, 24);
            const d = g.getImageData(0, 0, 32, 24).data;
            const sum = [0, 0, 0];
            for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += d[i + k];
            return sum.map((x) => Math.round(x / (d.length / 4)));
        }

        // Mutes or unmutes our microphone track (the sender then sends silence).
        setAudio(enabled) {
            this.stream.getAudioTracks().forEach((t) => (t.enabled = enabled));
        }

        summary() {
            return {
                role: this.role,
                marks: this.marks,
                marksAbs: this.marksAbs,
                statePath: this.statePath,
                localCandidates: this.localCandidates,
                remoteCandidates: this.remoteCandidates,
                droppedCandidates: this.droppedCandidates,
                candidateErrors: this.candidateErrors,
                answerFingerprint: this.answerFingerprint,
                closeCode: this.closeCode,
                transcript: this.transcript.slice(-60),
            };
        }

        async close() {
            if (this.watch) clearInterval(this.watch);
            if (this.painter) clearInterval(this.painter);
            if (this.pc) this.pc.close();
            if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
            if (this.ws && this.ws.readyState <= 1) this.ws.close(1000);
        }
    }

    window.TcClient = TcClient;
})();
