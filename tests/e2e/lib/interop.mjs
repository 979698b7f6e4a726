// interop.mjs: what the interop tests (interop-*.test.mjs) read from a page in a call, the same
// way in Chromium (a Playwright page) and in Firefox (a lib/firefox.mjs FirefoxPage): the
// inbound video and audio of the page's own RTCPeerConnection (window.__tc.pc, the shipped
// pages' hook), from getStats(), and both session descriptions for the failure report.
//
//   const s = await mediaSample(page);   // {video: {...}, audio: {...}, pair, sdp: {local, remote}}
//   const r = await waitMediaBothWays({customer: page1, agent: page2}, {timeoutMs});
//   mLines(sdp)                          // one line per m-section: kind, port, direction, codecs
//   await callBothWays(env, 'tag', customerPage, agentPage, agentUsername, desk)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { agentLogin, customerJoin, note, setAvailable } from './pages-harness.mjs';

export const MEDIA_WAIT_MS = Number(process.env.TC_E2E_MEDIA_WAIT_MS || 25000);

// Runs in the page (sent as source text to Firefox): no closure over test variables.
async function pageSample() {
    const pc = window.__tc && window.__tc.pc;
    if (!pc) return null;
    const stats = await pc.getStats();
    const out = { video: null, audio: null, pair: null, codecs: {}, connectionState: pc.connectionState };
    const codecs = {};
    stats.forEach((s) => {
        if (s.type === 'codec') codecs[s.id] = `${s.mimeType}/${s.payloadType}`;
    });
    let pairId = null;
    stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.kind === 'audio')) {
            const prev = out[s.kind];
            if (prev && prev.packetsReceived >= (s.packetsReceived || 0)) return;
            out[s.kind] = {
                ssrc: s.ssrc,
                packetsReceived: s.packetsReceived || 0,
                bytesReceived: s.bytesReceived || 0,
                packetsLost: s.packetsLost || 0,
                framesDecoded: s.framesDecoded,
                keyFramesDecoded: s.keyFramesDecoded,
                totalAudioEnergy: s.totalAudioEnergy,
                audioLevel: s.audioLevel,
                totalSamplesDuration: s.totalSamplesDuration,
                codec: codecs[s.codecId] || null,
            };
        }
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
            out.videoOut = { packetsSent: s.packetsSent, framesSent: s.framesSent, framesPerSecond: s.framesPerSecond,
                frameWidth: s.frameWidth, targetBitrate: s.targetBitrate,
                qualityLimitationReason: s.qualityLimitationReason, pliCount: s.pliCount, nackCount: s.nackCount };
        }
        if (s.type === 'candidate-pair' && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
            out.pair = { state: s.state, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived,
                availableOutgoingBitrate: s.availableOutgoingBitrate };
        }
    });
    // The element the page plays the other side in: audio is only rendered (and counted in
    // totalAudioEnergy) while it plays.
    const el = document.querySelector('#remote');
    out.element = el ? { readyState: el.readyState, paused: el.paused, currentTime: el.currentTime,
        videoWidth: el.videoWidth, muted: el.muted,
        tracks: el.srcObject ? el.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}${t.muted ? ':muted' : ''}`) : [] } : null;
    out.sdp = {
        local: pc.localDescription ? pc.localDescription.sdp : null,
        remote: pc.remoteDescription ? pc.remoteDescription.sdp : null,
    };
    return out;
}

// Waits until the agent page shows its own camera (#self plays a live stream): the page asks
// for the camera after sign-in, and an agent who accepts a call before it is there offers
// receive-only m-lines (the page adds no tracks later).
export async function waitAgentCamera(page, timeoutMs = 30000) {
    await page.waitForFunction(() => {
        const v = document.querySelector('#self');
        return !!(v && v.srcObject && v.srcObject.getTracks().some((t) => t.readyState === 'live'));
    }, null, { timeout: timeoutMs });
}

export async function mediaSample(page) {
    return page.evaluate(pageSample, null);
}

// One summary line per m-section of an SDP: "video port 0 bundle-only inactive VP8/96 ...".
export function mLines(sdp) {
    if (!sdp) return ['(no description)'];
    const out = [];
    let cur = null;
    for (const line of sdp.split(/\r?\n/)) {
        if (line.startsWith('m=')) {
            const [kind, port] = line.slice(2).split(' ');
            cur = { kind, port, attrs: [], codecs: [] };
            out.push(cur);
        } else if (cur) {
            const a = line.slice(2);
            if (/^(sendrecv|sendonly|recvonly|inactive|bundle-only)$/.test(a)) cur.attrs.push(a);
            else if (a.startsWith('mid:')) cur.attrs.push(a);
            else if (a.startsWith('fingerprint:')) cur.attrs.push('fingerprint');
            else if (a.startsWith('rtpmap:')) cur.codecs.push(a.slice(7).split('/')[0].replace(' ', ':'));
        }
    }
    return out.map((m) => `${m.kind} port ${m.port} ${m.attrs.join(' ')} [${m.codecs.slice(0, 6).join(' ')}]`);
}

// A side's inbound audio carries sound when its decoded energy (totalAudioEnergy) grew past
// `minEnergy` since `base`, or, in a browser without that counter, its audioLevel is above
// `minLevel`. `base` is the first sample with decoded video from the other side: the other
// side's leg is up and the relay's hold audio (played to a waiting customer until then) is
// over, so what is counted is the other side's sound. Firefox's fake microphone is a quiet tone
// (audioLevel ~0.1, about 0.01 of energy a second); Chromium's beeps are louder.
export function audioHasEnergy(base, last, { minEnergy = 2e-3, minLevel = 0.001 } = {}) {
    if (!base || !last || !last.audio) return false;
    const a = last.audio;
    if (typeof a.totalAudioEnergy === 'number') {
        return a.totalAudioEnergy - (base.audio?.totalAudioEnergy ?? 0) > minEnergy;
    }
    return typeof a.audioLevel === 'number' && a.audioLevel > minLevel;
}

function videoFlows(first, last) {
    const f = first?.video?.framesDecoded || 0;
    const l = last?.video?.framesDecoded || 0;
    return f > 0 && l > f + 5;
}

// Polls every page in `pages` ({role: page}) until each decodes video (framesDecoded grew by
// more than 5 after a first non-zero value) and hears audio (audioHasEnergy), or the deadline.
// Returns {ok, sides: {role: {firstVideo, last, video, audio}}}; `firstVideo` is the first
// sample with a decoded frame (audio energy is counted from there), `last` the latest sample.
export async function waitMediaBothWays(pages, { timeoutMs = 30000, intervalMs = 500 } = {}) {
    const sides = {};
    for (const role of Object.keys(pages)) sides[role] = { firstVideo: null, last: null, video: false, audio: false };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        for (const [role, page] of Object.entries(pages)) {
            const s = sides[role];
            s.last = await mediaSample(page);
            if (!s.firstVideo && s.last?.video?.framesDecoded > 0) s.firstVideo = s.last;
            s.video = videoFlows(s.firstVideo, s.last);
            s.audio = audioHasEnergy(s.firstVideo, s.last);
        }
        const ok = Object.values(sides).every((s) => s.video && s.audio);
        if (ok || Date.now() > deadline) return { ok, sides };
        await sleep(intervalMs);
    }
}

// A few lines on one side for an assertion message: inbound counters, then both SDPs' m-lines.
export function describeSide(role, s) {
    const v = s.last?.video;
    const a = s.last?.audio;
    const lines = [
        `${role}: video ${v ? `framesDecoded ${s.firstVideo?.video?.framesDecoded ?? 0}→${v.framesDecoded}, packets ${v.packetsReceived}, ${v.codec}` : 'no inbound video'}; ` +
            `audio ${a ? `packets ${a.packetsReceived}, totalAudioEnergy ${s.firstVideo?.audio?.totalAudioEnergy ?? '-'}→${a.totalAudioEnergy}, audioLevel ${a.audioLevel}, ${a.codec}` : 'no inbound audio'}; ` +
            `connection ${s.last?.connectionState}`,
    ];
    const o = s.last?.videoOut;
    if (o) {
        lines.push(`  ${role} sends video: packets ${o.packetsSent}, frames ${o.framesSent}, ${o.framesPerSecond ?? '-'} fps, ` +
            `width ${o.frameWidth ?? '-'}, target ${o.targetBitrate ?? '-'} bps, limited by ${o.qualityLimitationReason ?? '-'}, ` +
            `PLIs ${o.pliCount ?? '-'}, NACKs ${o.nackCount ?? '-'}; available outgoing ${s.last?.pair?.availableOutgoingBitrate ?? '-'} bps`);
    }
    const el = s.last?.element;
    if (el) {
        lines.push(`  ${role} #remote: readyState ${el.readyState}, ${el.paused ? 'paused' : 'playing'}, currentTime ` +
            `${el.currentTime.toFixed(1)} s, videoWidth ${el.videoWidth}${el.muted ? ', muted' : ''}, tracks ${el.tracks.join(' ')}`);
    }
    for (const which of ['local', 'remote']) {
        lines.push(`  ${role} ${which} SDP: ${mLines(s.last?.sdp?.[which]).join(' | ')}`);
    }
    return lines.join('\n');
}

// A call between two pages of a PagesEnv (lib/pages-harness.mjs), each a Playwright page or a
// FirefoxPage: the customer joins `desk`; the agent signs in, waits for its own camera (as a
// person who sees their picture), goes available, is rung and accepts; then both sides must
// decode the other's video and hear its audio (waitMediaBothWays); the agent hangs up and the
// customer is offered the rating. Artefacts: <tag>-media.json and screenshots in env.art.
// Each phase's time is printed: the machine may be loaded, the deadlines are generous.
export async function callBothWays(env, tag, cust, agent, agentUser, desk) {
    let t = Date.now();
    const phase = (what) => {
        note(`${tag}: ${what} in ${Date.now() - t} ms`);
        t = Date.now();
    };
    await customerJoin(cust, env.origin, desk);
    phase('customer joined');
    await agentLogin(agent, env.origin, agentUser);
    await waitAgentCamera(agent);
    phase('agent signed in with its camera');
    await setAvailable(agent);
    await agent.waitForSelector('#ring:not([hidden])', { timeout: 20000 });
    await agent.click('#ring-accept');
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 15000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 15000 });
    phase('rung, accepted, both pages in the call');

    const res = await waitMediaBothWays({ customer: cust, agent }, { timeoutMs: MEDIA_WAIT_MS });
    phase(res.ok ? 'media both ways' : 'media wait over');
    const report = Object.entries(res.sides).map(([role, s]) => describeSide(role, s)).join('\n');
    note(report);
    fs.writeFileSync(path.join(env.art, `${tag}-media.json`), JSON.stringify(res, null, 2));
    await env.shot(cust, `${tag}-customer.png`).catch(() => {});
    await env.shot(agent, `${tag}-agent.png`).catch(() => {});
    for (const role of ['customer', 'agent']) {
        const s = res.sides[role];
        assert.ok(s.video, `${tag}: the ${role} decodes no video from the other side\n${report}`);
        assert.ok(s.audio, `${tag}: the ${role} hears no audio energy from the other side\n${report}`);
    }
    const codecs = Object.entries(res.sides).map(([role, s]) => `${role} receives ${s.last.video.codec} + ${s.last.audio.codec}`);
    note(`${tag}: ${codecs.join(', ')}`);
    await agent.click('#btn-hangup');
    phase('the agent clicked hang up');
    await cust.waitForSelector('[data-panel="rate"]:not([hidden])', { timeout: 15000 });
    phase('the customer is asked to rate');
}
