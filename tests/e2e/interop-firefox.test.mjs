// interop-firefox.test.mjs: calls between Firefox ESR and Chromium through the media relay,
// with the pages exactly as shipped (/join and /agent; their RTCPeerConnection uses
// bundlePolicy 'max-bundle', so Firefox offers its video m-line as port 0 + a=bundle-only).
//
// One throwaway namespace (lib/netns.mjs), the real telecounter in it, and two calls in turn:
//   (a) a Firefox customer (desk broadband) with a Chromium agent (skill broadband only);
//   (b) a Chromium customer (desk id_check, with its consent step) with a Firefox agent (skill id_check only).
// In each, both pages must decode the other side's video (inbound-rtp video framesDecoded
// grows) and hear the other side's audio (inbound-rtp audio totalAudioEnergy grows past a
// small threshold, or audioLevel is above one), from the page's own getStats(). Headless
// Firefox ESR has no H.264, so these calls are VP8 + Opus. Firefox runs through
// lib/firefox.mjs (puppeteer-core over WebDriver BiDi, in a driver process inside the
// namespace); Chromium through lib/browser.mjs. Artefacts: artifacts/pages/interop-firefox/.
//
//   node --test interop-firefox.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchFirefox } from './lib/firefox.mjs';
import { describeSide, waitMediaBothWays } from './lib/interop.mjs';
import { PagesEnv, agentLogin, customerJoin, note, setAvailable } from './lib/pages-harness.mjs';

const CHROMIUM_AGENT = { username: 'e2e.chromium', name: 'Chromium Agent', role: 'agent', skills: ['broadband'] };
const FIREFOX_AGENT = { username: 'e2e.firefox', name: 'Firefox Agent', role: 'agent', skills: ['id_check'] };
const MEDIA_WAIT_MS = Number(process.env.TC_E2E_MEDIA_WAIT_MS || 30000);

let env;

before(async () => {
    env = await PagesEnv.start('interop-firefox', { accounts: [CHROMIUM_AGENT, FIREFOX_AGENT] });
}, { timeout: 60000 });

after(async () => {
    await env?.cleanup();
});

// A Firefox page for `role`, registered with the environment so that cleanup() saves its
// console, screenshots it on a failure and closes it.
async function firefoxPage(role) {
    const ff = await launchFirefox(env.ns);
    env.browsers.push(ff);
    env.pages[role] = { page: ff.page, br: ff, console: ff.console };
    note(`${role}: firefox ${ff.version} (driver pid ${ff.pid})`);
    return ff;
}

// customer joins `desk`, the agent signs in, goes available, is rung and accepts; then both
// sides must decode video and hear audio. `tag` names the artefacts.
async function callBothWays(tag, cust, agent, agentUser, desk) {
    await customerJoin(cust, env.origin, desk);
    await agentLogin(agent, env.origin, agentUser);
    await setAvailable(agent);
    await agent.waitForSelector('#ring:not([hidden])', { timeout: 20000 });
    await agent.click('#ring-accept');
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 15000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 15000 });

    const res = await waitMediaBothWays({ customer: cust, agent }, { timeoutMs: MEDIA_WAIT_MS });
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
    const codecs = Object.values(res.sides).map((s) => `${s.last.video.codec} + ${s.last.audio.codec}`);
    note(`${tag}: codecs ${codecs.join(', ')}`);
    await agent.click('#btn-hangup');
    await cust.waitForSelector('[data-panel="rate"]:not([hidden])', { timeout: 15000 });
}

async function step(name, fn) {
    test(name, { timeout: 120000 }, async () => {
        try {
            await fn();
        } catch (e) {
            env.failed = true;
            throw e;
        }
    });
}

step('(a) Firefox customer ↔ Chromium agent: video decoded and audio heard both ways', async () => {
    const ff = await firefoxPage('a-customer-firefox');
    const agent = await env.page('a-agent-chromium');
    try {
        await callBothWays('a', ff.page, agent, CHROMIUM_AGENT.username, 'broadband');
    } finally {
        if (!env.failed) await ff.close(); // else cleanup() screenshots it first
    }
});

step('(b) Chromium customer ↔ Firefox agent: video decoded and audio heard both ways', async () => {
    const cust = await env.page('b-customer-chromium');
    const ff = await firefoxPage('b-agent-firefox');
    await callBothWays('b', cust, ff.page, FIREFOX_AGENT.username, 'id_check');
});
