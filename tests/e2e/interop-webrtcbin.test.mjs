// interop-webrtcbin.test.mjs: a customer that is not a browser, GStreamer's webrtcbin
// (tools/peer/webrtcbin_customer.py, Debian's GStreamer 1.22 from Debian's /usr/bin/python3;
// bundle-policy max-bundle, so webrtcbin offers an m-line as bundle-only), in a call with a
// Chromium agent on the shipped /agent page, through the media relay.
//
// In one throwaway namespace (lib/netns.mjs) with the real telecounter: the webrtcbin customer
// joins `broadband`, offers (VP8 test picture + Opus 440 Hz tone) and trickles candidates; the
// Chromium agent signs in, waits for its own camera, goes available, is rung and accepts. Then media must flow both
// ways: the agent's page decodes the customer's video (inbound-rtp framesDecoded grows) and
// hears its tone (totalAudioEnergy grows past a threshold); webrtcbin decodes the agent's video
// (frames counted after vp8dec) and its decoded audio is above silence (RMS over -60 dBFS;
// Chromium's fake microphone beeps). The agent hangs up and the customer is told.
// Artefacts: artifacts/pages/interop-webrtcbin/.
//
//   node --test interop-webrtcbin.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { describeSide, mLines, waitAgentCamera, waitMediaBothWays } from './lib/interop.mjs';
import { PagesEnv, agentLogin, note, setAvailable } from './lib/pages-harness.mjs';
import { startWebrtcbinCustomer } from './lib/webrtcbin.mjs';

const AGENT = { username: 'e2e.agent', name: 'Chromium Agent', role: 'agent', skills: ['broadband'] };
const MEDIA_WAIT_MS = Number(process.env.TC_E2E_MEDIA_WAIT_MS || 30000);
const MIN_FRAMES = 20; // decoded by webrtcbin after the answer (15 fps sender: ~1.5 s of video)
const MIN_RMS = 0.001; // -60 dBFS: above the silence of a decoder fed nothing

let env;
let peer;

before(async () => {
    env = await PagesEnv.start('interop-webrtcbin', { accounts: [AGENT] });
}, { timeout: 60000 });

after(async () => {
    if (peer) {
        const exit = await peer.stop();
        fs.writeFileSync(path.join(env.art, 'webrtcbin-events.jsonl'), peer.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
        fs.writeFileSync(path.join(env.art, 'webrtcbin-stderr.log'), peer.stderr);
        note(`webrtcbin customer pid ${peer.pid} exited ${JSON.stringify(exit)}`);
    }
    await env?.cleanup();
});

test('webrtcbin customer ↔ Chromium agent: video decoded and audio heard both ways', { timeout: 150000 }, async () => {
    try {
        peer = startWebrtcbinCustomer(env.ns, { url: env.server.wsUrl, desk: 'broadband' });
        note(`webrtcbin customer pid ${peer.pid}`);
        await peer.waitFor((e) => e.event === 'joined', 30000, 'customer.join.ok');
        const offer = await peer.waitFor((e) => e.event === 'offer', 20000, 'its offer');
        note(`webrtcbin offer: ${mLines(offer.sdp).join(' | ')}`);
        const answer = await peer.waitFor((e) => e.event === 'answer' || e.event === 'error', 20000, "the server's answer");
        assert.equal(answer.event, 'answer', `the server answered webrtcbin's offer\n${peer.tail()}`);
        note(`server answer: ${mLines(answer.sdp).join(' | ')}`);
        const set = await peer.waitFor((e) => e.event === 'remote-set' || e.event === 'error', 20000, 'webrtcbin to take the answer');
        assert.equal(set.event, 'remote-set', `webrtcbin takes the server's answer: ${set.message}\n${peer.tail()}`);

        const agent = await env.page('agent');
        await agentLogin(agent, env.origin, AGENT.username);
        await waitAgentCamera(agent);
        await setAvailable(agent);
        await agent.waitForSelector('#ring:not([hidden])', { timeout: 20000 });
        await agent.click('#ring-accept');
        await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 15000 });
        await peer.waitFor((e) => e.event === 'answered', 15000, 'session.answered');

        // The agent's side, from its page's getStats().
        const res = await waitMediaBothWays({ agent }, { timeoutMs: MEDIA_WAIT_MS });
        const agentReport = describeSide('agent', res.sides.agent);
        // webrtcbin's side: frames decoded since the answer, and the loudest 0.5 s window of
        // decoded audio once the agent's video arrives (the agent's leg is up, the relay's hold
        // audio is over), skipping the first window, which may still hold some of it.
        const answered = peer.find((e) => e.event === 'answered');
        const deadline = Date.now() + MEDIA_WAIT_MS;
        let frames = 0;
        let rms = 0;
        let st = null;
        for (;;) {
            const stats = peer.events.filter((e) => e.event === 'stats' && e.t > answered.t);
            st = stats.at(-1) || null;
            frames = st ? st.video_frames - answered.video_frames : 0;
            const firstVideo = stats.find((e) => e.video_frames > answered.video_frames);
            const heard = firstVideo ? stats.filter((e) => e.t > firstVideo.t + 0.6) : [];
            rms = Math.max(0, ...heard.map((e) => e.audio_rms));
            if ((frames >= MIN_FRAMES && rms > MIN_RMS) || peer.exit || Date.now() > deadline) break;
            await sleep(250);
        }
        const peerReport = `webrtcbin: video frames decoded since the answer ${frames}, loudest decoded audio RMS once the agent's video came ${rms} ` +
            `(now ${st?.audio_dbfs} dBFS), connection ${st?.connection}, ice ${st?.ice}`;
        const report = `${agentReport}\n${peerReport}\n${peer.tail()}`;
        note(`${agentReport}\n${peerReport}`);
        fs.writeFileSync(path.join(env.art, 'media.json'), JSON.stringify({ agent: res.sides.agent, webrtcbin: st }, null, 2));
        await env.shot(agent, 'agent-call.png').catch(() => {});
        assert.ok(res.sides.agent.video, `the Chromium agent decodes no video from webrtcbin\n${report}`);
        assert.ok(res.sides.agent.audio, `the Chromium agent hears no audio energy from webrtcbin\n${report}`);
        assert.ok(frames >= MIN_FRAMES, `webrtcbin decodes no video from the agent\n${report}`);
        assert.ok(rms > MIN_RMS, `webrtcbin's decoded audio from the agent is silent\n${report}`);

        await agent.click('#btn-hangup');
        const ended = await peer.waitFor((e) => e.event === 'ended', 15000, 'session.ended');
        assert.equal(ended.reason, 'completed');
        const exit = await peer.exited;
        assert.equal(exit.code, 0, `webrtcbin customer exit ${JSON.stringify(exit)}\n${peer.tail()}`);
    } catch (e) {
        env.failed = true;
        throw e;
    }
});
