// pages-audio-only.test.mjs: a call whose sides have no video format in common, on the real
// pages. The server's media.video_codecs names a codec no browser offers, so every video m-line
// is answered with port 0 (offer.ok video false) and both sides get call.media video false. Both
// pages say plainly, in English and in Chinese, that the call continues with audio; neither
// labels it "No picture"; audio flows both ways.
//
//   node --test pages-audio-only.test.mjs   (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, chooseLang, customerJoin, note, setAvailable, sleep, until } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.audio', name: 'Li Na', role: 'agent', skills: ['broadband'] };
const EN = 'Video is not available in this call: your devices have no video format in common. The call continues with audio.';
const ZH = '本次通话无法使用视频：双方设备没有共同支持的视频格式。通话将以语音继续。';

let env;
let cust;
let agent;
const st = {};

function step(name, fn, timeout = 60000) {
    test(name, { timeout }, async () => {
        try {
            await fn();
        } catch (e) {
            env.failed = true;
            throw e;
        }
    });
}
const need = (c, what) => {
    if (!c) throw new Error(`cannot run: ${what} (an earlier step failed)`);
};

const shown = (page, sel) => page.evaluate((s) => {
    const el = document.querySelector(s);
    return el && !el.hidden && el.offsetParent !== null ? el.textContent.trim() : null;
}, sel);

// Inbound audio packets on the page's peer connection.
const audioIn = (page) => page.evaluate(async () => {
    let n = 0;
    const pc = window.__tc.pc;
    if (pc) (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n = s.packetsReceived; });
    return n;
});

before(async () => {
    env = await PagesEnv.start('audio-only', { accounts: [AGENT], config: { media: { video_codecs: 'NOPE' } } });
}, { timeout: 90000 });

after(async () => {
    await env.cleanup();
});

step('a customer and an agent with no video format in common are in a call', async () => {
    cust = await env.page('customer', { viewport: { width: 360, height: 780 } });
    await customerJoin(cust, env.origin, 'broadband');
    agent = await env.page('agent');
    await agentLogin(agent, env.origin, AGENT.username);
    await setAvailable(agent);
    await agent.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await agent.click('#ring-accept');
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 10000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 10000 });
    st.call = true;
}, 90000);

step('both pages say the call is audio-only (en, zh-CN); audio flows; no "No picture" label', async () => {
    need(st.call, 'a call');
    for (const [who, page] of [['customer', cust], ['agent', agent]]) {
        assert.equal(await until(() => shown(page, '#video-note'), 15000), EN, `${who}: the audio-only notice`);
        await chooseLang(page, 'zh-CN');
        assert.equal(await shown(page, '#video-note'), ZH, `${who}: the notice in Chinese`);
        await chooseLang(page, 'en');
    }
    for (const [who, page] of [['customer', cust], ['agent', agent]]) {
        const a0 = await audioIn(page);
        const a1 = await until(async () => {
            const n = await audioIn(page);
            return n > a0 + 25 ? n : 0;
        }, 15000);
        assert.ok(a1 > a0, `${who}: audio packets arrive (${a0}→${a1})`);
    }
    // Past the stall threshold (3 s) and a few samples: the label is about the connection.
    await sleep(5000);
    for (const [who, page] of [['customer', cust], ['agent', agent]]) {
        const q = await shown(page, '#quality-text');
        note(`${who}: quality "${q}"`);
        assert.notEqual(q, 'No picture', `${who}: an audio-only call is not "No picture"`);
    }
}, 90000);

step('no page errors', async () => {
    for (const role of Object.keys(env.pages)) assert.deepEqual(env.errors(role), [], `${role} page errors`);
});
