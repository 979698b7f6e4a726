// call.test.mjs: a video call end to end, in Debian's chromium, through the media relay.
//
// A throwaway network namespace holds everything (lib/netns.mjs): the real telecounter
// (lib/server.mjs) on 10.203.0.1:8443 and one chromium (lib/browser.mjs) with two pages,
// a customer and an agent. Each page runs lib/client.js: the signaling protocol over
// wss://10.203.0.1:8443/ws and ONE RTCPeerConnection with the server (fake camera and mic).
// The test proves that audio and video flow both ways, and that each page's selected ICE
// candidate pair ends at the relay (10.203.0.1, the relay's port and DTLS certificate), never
// at the other page. Artefacts (screenshots, stats, transcripts, server log) go to
// tests/e2e/artifacts/call/.
//
//   node --test call.test.mjs           (as root; TC_BINARY, TC_ADMIN, TC_SOURCE_DIR)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser } from './lib/browser.mjs';
import { Netns } from './lib/netns.mjs';
import { Server, describeBinaries } from './lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLIENT_JS = path.join(HERE, 'lib', 'client.js');
// TC_E2E_ARTIFACTS: another artefacts root (default tests/e2e/artifacts, git-ignored).
const ART = path.join(process.env.TC_E2E_ARTIFACTS || path.join(HERE, 'artifacts'), 'call');
const DESK = 'broadband';
const AGENT = { username: 'e2e.agent', name: 'E2E Agent' };
const MEDIA_WAIT_MS = Number(process.env.TC_E2E_MEDIA_WAIT_MS || 20000);

let ns = null;
let server = null;
let br = null;
const pages = {}; // role -> {page, console: []}
const st = { failed: false, sessionId: null, offers: {}, offerInfo: {}, answered: false, media: null };

fs.rmSync(ART, { recursive: true, force: true });
fs.mkdirSync(ART, { recursive: true });

function note(msg) {
    process.stdout.write(`${msg}\n`);
}

// A test that records its failure (for the server log at the end).
function step(name, fn, timeout = 60000) {
    test(name, { timeout }, async (t) => {
        try {
            await fn(t);
        } catch (e) {
            st.failed = true;
            throw e;
        }
    });
}

function need(cond, what) {
    if (!cond) throw new Error(`cannot run: ${what} (an earlier step failed; see above)`);
}

async function openPage(role) {
    const page = await br.context.newPage();
    const con = [];
    page.on('console', (m) => con.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => con.push(`pageerror: ${e.message}`));
    // Any page of the server gives the origin that the WebSocket and getUserMedia need.
    const resp = await page.goto(`${server.origin}/healthz`, { waitUntil: 'load', timeout: 15000 });
    assert.equal(resp && resp.status(), 200, `GET ${server.origin}/healthz in chromium`);
    // Evaluated through the DevTools protocol, which the server's Content-Security-Policy
    // (script-src 'self': no inline script) does not govern; addScriptTag inlines it.
    await page.evaluate(fs.readFileSync(CLIENT_JS, 'utf8'));
    await page.evaluate((r) => {
        window.tc = new window.TcClient(r);
    }, role);
    pages[role] = { page, console: con };
    return page;
}

const inPage = (role, fn, arg) => pages[role].page.evaluate(fn, arg);
const req = (role, type, fields, timeoutMs) =>
    inPage(role, ([ty, f, ms]) => window.tc.request(ty, f, ms), [type, fields || {}, timeoutMs || 10000]);
const waitEvent = (role, type, fields, timeoutMs) =>
    inPage(role, ([ty, f, ms]) => window.tc.waitEvent(ty, f, ms), [type, fields || {}, timeoutMs || 10000]);
const stats = (role) => inPage(role, () => window.tc.stats());
const summary = (role) => inPage(role, () => window.tc.summary());

function assertOk(reply, type, what) {
    assert.equal(reply && reply.type, `${type}.ok`, `${what}: got ${JSON.stringify(reply)}`);
}

before(async () => {
    const bins = describeBinaries();
    note(`binary ${bins.binary} (${bins.version}); web ${bins.sourceDir}/web`);
    ns = await Netns.create();
    note(`namespace ${ns.name}: ${ns.address} on ${ns.iface}`);
    server = new Server(ns, { name: 'call' });
    const chk = server.checkConfig();
    if (!chk.ok) {
        throw new Error(`telecounter --check-config refused the e2e config:\n${chk.output}\n` +
            'If it names [media] interfaces/loopback, run with TC_E2E_MEDIA_KEYS=0 until they land.');
    }
    server.addAccount(AGENT.username, { skills: [DESK], name: AGENT.name });
    await server.start();
    note(`telecounter pid ${server.pid} ready at ${server.origin}`);
    br = await launchBrowser(ns);
    // Chromium fetches /favicon.ico by itself; the server has none (404). Answer it here so
    // that the test is about calls (and an unknown path must not hurt the server anyway).
    await br.context.route('**/favicon.ico', (r) => r.fulfill({ status: 204, body: '' }));
    note(`chromium ${br.browser ? br.browser.version() : '?'} in ${ns.name}`);
    await openPage('customer');
    await openPage('agent');
}, { timeout: 90000 });

after(async () => {
    for (const [role, { page, console: con }] of Object.entries(pages)) {
        try {
            await page.screenshot({ path: path.join(ART, `${role}.png`) });
        } catch (e) {
            note(`screenshot of ${role} failed: ${e.message}`);
        }
        try {
            fs.writeFileSync(path.join(ART, `${role}-summary.json`), JSON.stringify(await summary(role), null, 2));
            fs.writeFileSync(path.join(ART, `${role}-stats.json`), JSON.stringify(await stats(role), null, 2));
        } catch {
            /* page gone */
        }
        fs.writeFileSync(path.join(ART, `${role}-console.log`), con.join('\n') + '\n');
        if (st.failed) {
            try {
                const s = await summary(role);
                note(`---- ${role} transcript (last lines):`);
                for (const l of s.transcript.slice(-25)) note(`   ${l}`);
            } catch {
                /* page gone */
            }
        }
    }
    if (st.media) fs.writeFileSync(path.join(ART, 'figures.json'), JSON.stringify(st.media, null, 2));
    if (br) await br.close();
    if (server) {
        const code = await server.stop();
        server.saveLog(ART);
        if (code !== 0) {
            st.failed = true;
            note(`telecounter exited with ${code} on SIGTERM (expected 0)`);
        }
        if (st.failed) process.stdout.write(server.logTail(80) + '\n');
        await server.cleanup();
    }
    if (ns) await ns.remove();
    note(`artefacts in ${ART}`);
});

step('harness: server and chromium run inside the namespace', async () => {
    assert.ok(server.alive(), 'telecounter is running');
    const inside = ns.pids();
    assert.ok(inside.includes(server.pid), `telecounter (pid ${server.pid}) is in ${ns.name}: ${inside}`);
    assert.ok(inside.length >= 2, `chromium's processes are in ${ns.name} too (pids ${inside})`);
    for (const role of ['customer', 'agent']) {
        const env = await inPage(role, () => ({ origin: location.origin, secure: window.isSecureContext,
            media: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) }));
        assert.equal(env.origin, server.origin, `${role} page origin`);
        assert.ok(env.secure, `${role} page is a secure context`);
        assert.ok(env.media, `${role} page has getUserMedia`);
    }
});

step('signaling: customer joins, agent logs in, is rung and accepts; both offer', async () => {
    await inPage('customer', (url) => window.tc.connect(url), server.wsUrl);
    const join = await req('customer', 'customer.join', { desk: DESK });
    assertOk(join, 'customer.join', 'customer.join');
    st.sessionId = join.session_id;

    const cust = await inPage('customer', () => window.tc.startMedia());
    st.offerInfo.customer = cust;
    note(`customer: getUserMedia ${cust.gumMs} ms, tracks ${cust.tracks.map((t) => t.kind).join('+')}, ` +
        `offer ${cust.offerBytes} bytes (${cust.mlines.join(',')})`);
    assert.deepEqual(cust.tracks.map((t) => t.kind).sort(), ['audio', 'video'], 'fake camera and mic');
    assert.ok(cust.tracks.every((t) => t.state === 'live'), 'tracks are live');
    assert.ok(cust.bundle && cust.fingerprint && cust.opus && cust.video > 0, `offer shape ${JSON.stringify(cust)}`);
    // The customer offers at once, so that media is up while it waits (hold audio).
    st.offers.customer = await inPage('customer', () => window.tc.sendOffer());
    assertOk(st.offers.customer.reply, 'offer', 'customer offer');

    await inPage('agent', (url) => window.tc.connect(url), server.wsUrl);
    const login = await req('agent', 'login', { username: AGENT.username, password: 'correct horse battery staple' });
    assertOk(login, 'login', 'agent login');
    assertOk(await req('agent', 'agent.state', { state: 'available' }), 'agent.state', 'agent available');
    const ring = await waitEvent('agent', 'ring', { session_id: st.sessionId }, 10000);
    assert.equal(ring.type, 'ring', `agent is rung for session ${st.sessionId}: ${JSON.stringify(ring)}`);
    assertOk(await req('agent', 'agent.accept', { session_id: st.sessionId }), 'agent.accept', 'agent.accept');
    const answered = await waitEvent('customer', 'session.answered', { session_id: st.sessionId }, 10000);
    assert.equal(answered.type, 'session.answered', `customer told: ${JSON.stringify(answered)}`);
    assert.equal(answered.agent && answered.agent.name, AGENT.name);
    st.answered = true;

    const ag = await inPage('agent', () => window.tc.startMedia());
    st.offerInfo.agent = ag;
    assert.deepEqual(ag.tracks.map((t) => t.kind).sort(), ['audio', 'video'], 'agent fake camera and mic');
    st.offers.agent = await inPage('agent', () => window.tc.sendOffer());
    assertOk(st.offers.agent.reply, 'offer', 'agent offer');
    note(`offer replies: customer ${JSON.stringify(st.offers.customer.reply)}, agent ${JSON.stringify(st.offers.agent.reply)}`);
});

step('media: the server answers each offer in offer.ok.sdp', async () => {
    need(st.offers.customer && st.offers.agent, 'both pages sent an offer');
    for (const role of ['customer', 'agent']) {
        const o = st.offers[role];
        assert.ok(o.hasSdp, `${role}: offer.ok carries no sdp (${JSON.stringify(o.reply)}): the server does not ` +
            'answer offers yet, so there is no media path. The media relay (src/media/leg.c) is not in this ' +
            `build (${describeBinaries().binary}).`);
        assert.equal(o.error, null, `${role}: the server's answer was refused by chromium: ${o.error}`);
        assert.ok(o.applied, `${role}: answer applied`);
    }
}, 20000);

step('media: audio and video flow both ways, through the relay at 10.203.0.1', async () => {
    need(st.offers.customer && st.offers.customer.applied && st.offers.agent && st.offers.agent.applied,
        'both pages applied the server\'s answer (previous test)');
    const roles = ['customer', 'agent'];
    const first = {};
    const last = {};
    const grew = { customer: { video: false, audio: false, level: false }, agent: { video: false, audio: false, level: false } };
    const deadline = Date.now() + MEDIA_WAIT_MS;
    for (;;) {
        for (const r of roles) {
            const s = await stats(r);
            if (!first[r] && s.video && s.video.framesDecoded > 0 && s.audio && s.audio.packetsReceived > 0) first[r] = s;
            if (first[r]) {
                const f = first[r];
                grew[r].video = (s.video?.framesDecoded ?? 0) > f.video.framesDecoded;
                grew[r].audio = (s.audio?.packetsReceived ?? 0) > f.audio.packetsReceived;
                grew[r].level = (s.audio?.totalAudioEnergy ?? 0) > f.audio.totalAudioEnergy || (s.audio?.audioLevel ?? 0) > 0;
            }
            last[r] = s;
        }
        const done = roles.every((r) => grew[r].video && grew[r].audio && grew[r].level && last[r].pair);
        if (done || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 250));
    }
    const sums = { customer: await summary('customer'), agent: await summary('agent') };
    for (const r of roles) {
        const s = last[r];
        const ctx = `${r}: ice ${s.iceState}, pc ${s.pcState}, dtls ${s.dtlsState}, states ${sums[r].statePath.join(' ')}; ` +
            `video ${JSON.stringify(s.video)}, audio ${JSON.stringify(s.audio)}, pair ${JSON.stringify(s.pair)}; ` +
            `server candidates ${JSON.stringify(sums[r].remoteCandidates)}; errors ${JSON.stringify(sums[r].candidateErrors)}`;
        assert.ok(first[r], `${r}: no decoded video frame and audio packet within ${MEDIA_WAIT_MS} ms (${ctx})`);
        assert.ok(grew[r].video, `${r}: framesDecoded does not grow (${ctx})`);
        assert.ok(grew[r].audio, `${r}: audio packetsReceived does not grow (${ctx})`);
        assert.ok(grew[r].level, `${r}: audio carries no energy (audioLevel/totalAudioEnergy) (${ctx})`);
        assert.ok(s.pair && s.pair.state === 'succeeded', `${r}: a selected candidate pair (${ctx})`);
        assert.equal(s.pair.remote.address, server.address, `${r}: the selected pair ends at the relay (${ctx})`);
    }
    // The relay, not the other page: both pages live at 10.203.0.1 too, so also compare
    // the transport address and the DTLS certificate.
    for (const [a, b] of [['customer', 'agent'], ['agent', 'customer']]) {
        const remote = `${last[a].pair.remote.address}:${last[a].pair.remote.port}`;
        const otherLocal = (last[b].localCandidates || []).map((c) => c.replace(/\/\w+$/, ''));
        assert.ok(!otherLocal.includes(remote), `${a}'s selected remote ${remote} is not one of ${b}'s own candidates`);
        assert.equal(last[a].remoteFingerprint, sums[a].answerFingerprint,
            `${a}: the DTLS peer is the certificate of the server's answer`);
        assert.notEqual(last[a].remoteFingerprint, last[b].localFingerprint, `${a}: the DTLS peer is not ${b}`);
    }
    // Figures: first decoded frame, relative to the agent's offer (when the bridge can start).
    const agentOffer = sums.agent.marksAbs.offerSent;
    const rel = (r, m) => (sums[r].marksAbs[m] !== undefined ? Math.round(sums[r].marksAbs[m] - agentOffer) : null);
    st.media = {
        chromium: br.browser ? br.browser.version() : null,
        firstFrameDecodedMs_afterAgentOffer: { customer: rel('customer', 'firstFrameDecoded'), agent: rel('agent', 'firstFrameDecoded') },
        firstAudioPacketMs_afterOwnOffer: { customer: sums.customer.marks.firstAudioPacket, agent: sums.agent.marks.firstAudioPacket },
        connectedMs_afterOwnOffer: { customer: sums.customer.marks.connected, agent: sums.agent.marks.connected },
        firstFrameDecodedMs_afterOwnOffer: { customer: sums.customer.marks.firstFrameDecoded, agent: sums.agent.marks.firstFrameDecoded },
        selectedPair: { customer: last.customer.pair, agent: last.agent.pair },
        srtp: { customer: last.customer.srtpCipher, agent: last.agent.srtpCipher },
        codecs: { customer: [last.customer.video.codec, last.customer.audio.codec], agent: [last.agent.video.codec, last.agent.audio.codec] },
        video: { customer: last.customer.video, agent: last.agent.video },
        audio: { customer: last.customer.audio, agent: last.agent.audio },
    };
    note(`figures: ${JSON.stringify(st.media)}`);
    for (const r of roles) await pages[r].page.screenshot({ path: path.join(ART, `${r}-media.png`) }).catch(() => {});
}, MEDIA_WAIT_MS + 30000);

step('media: each page gets the OTHER page\'s picture and sound (not its own, not hold audio)', async () => {
    need(st.media, 'media flows both ways (previous test)');
    // Both pages share one fake camera and mic, so give each a picture of its own.
    const colour = { customer: [220, 30, 30], agent: [30, 30, 220] };
    const other = { customer: 'agent', agent: 'customer' };
    for (const r of ['customer', 'agent']) await inPage(r, (rgb) => window.tc.paintVideo(rgb), colour[r]);
    const close = (got, want) => got && got.every((v, i) => Math.abs(v - want[i]) < 60);
    const seen = {};
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
        for (const r of ['customer', 'agent']) seen[r] = await inPage(r, () => window.tc.remoteColor());
        if (close(seen.customer, colour.agent) && close(seen.agent, colour.customer)) break;
        await new Promise((res) => setTimeout(res, 200));
    }
    for (const r of ['customer', 'agent']) {
        assert.ok(close(seen[r], colour[other[r]]), `${r} sees the ${other[r]}'s picture ` +
            `rgb(${colour[other[r]]}): got rgb(${seen[r]})`);
    }
    // Sound: the customer mutes; the agent's received energy stops growing, the customer's does not.
    await inPage('customer', () => window.tc.setAudio(false));
    await new Promise((res) => setTimeout(res, 1000)); // the jitter buffer drains
    const e0 = { customer: (await stats('customer')).audio, agent: (await stats('agent')).audio };
    await new Promise((res) => setTimeout(res, 2500));
    const e1 = { customer: (await stats('customer')).audio, agent: (await stats('agent')).audio };
    await inPage('customer', () => window.tc.setAudio(true));
    const gain = (r) => e1[r].totalAudioEnergy - e0[r].totalAudioEnergy;
    st.media.audioEnergyWhileCustomerMuted = { customer: gain('customer'), agent: gain('agent') };
    note(`audio energy over 2.5 s with the customer muted: customer got ${gain('customer').toExponential(2)}, ` +
        `agent got ${gain('agent').toExponential(2)}`);
    assert.ok(e1.agent.packetsReceived > e0.agent.packetsReceived, 'the agent still receives audio packets');
    assert.ok(gain('customer') > 1e-3, `the customer still hears the agent (energy +${gain('customer')})`);
    assert.ok(gain('agent') < gain('customer') / 20, `the agent hears silence once the customer muted ` +
        `(energy +${gain('agent')} vs the customer's +${gain('customer')})`);
}, 40000);

step('hangup: both sides get session.ended (completed)', async () => {
    need(st.answered, 'the call was answered (signaling test)');
    // Screenshots while the call is still up, after the colour swap (the after hook takes the
    // final ones; *-media.png are those of the fake cameras through the relay).
    for (const role of ['customer', 'agent']) {
        await pages[role].page.screenshot({ path: path.join(ART, `${role}-in-call.png`) }).catch(() => {});
    }
    assertOk(await req('customer', 'hangup', {}), 'hangup', 'customer hangup');
    for (const role of ['customer', 'agent']) {
        const ev = await waitEvent(role, 'session.ended', { session_id: st.sessionId }, 10000);
        assert.equal(ev.type, 'session.ended', `${role} told the session ended: ${JSON.stringify(ev)}`);
        assert.equal(ev.reason, 'completed', `${role}: end reason`);
    }
});
