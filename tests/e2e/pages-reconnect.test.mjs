// pages-reconnect.test.mjs: a call that survives reloads and a closed console, on the real pages.
//
// An agent issues an invite (case reference and note) and takes the invited customer's call.
// Then, in order:
// - the customer reloads mid-call: after the resume, Mute, Stop video and Switch camera are
//   enabled and work (issue 11: they stayed disabled for the rest of the call);
// - the agent's camera stops sending (replaceTrack(null)): the customer's quality label leaves
//   "Good connection" for "No picture" within seconds, and comes back when frames do;
// - the agent's tab closes: the customer sees "The agent is reconnecting…" (en and zh-CN) over
//   the video, never "Good connection"; the agent signs in again within the resume window and
//   the console shows the call back with desk, time waited, case reference, invite note and the
//   notes typed before the tab closed.
// (An agent back after the window: pages-reconnect-late.test.mjs.)
//
//   node --test pages-reconnect.test.mjs   (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, chooseLang, framesDecoded, invitedCall, note, sleep, until,
    waitVideoFlows } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.resumer', name: 'Chen Jing', role: 'agent', skills: ['broadband'] };
const DESKTOP = { width: 1280, height: 860 };
const CASE = 'CASE-2207';
const INVITE_NOTE = 'Router keeps dropping';
const NOTES = 'Router reset; line test booked.';
const RESUME_WINDOW_S = 45; // generous: a sign-in on a loaded machine takes seconds

let env;
let cust;
let agent;
let agentBr;
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

// The quality label as a person sees it: its text, or null while it is not shown.
async function qualityShown(page) {
    return page.evaluate(() => {
        const q = document.querySelector('#quality');
        if (!q || q.hidden || q.offsetParent === null) return null;
        return document.querySelector('#quality-text').textContent.trim();
    });
}

// The text of #peer-state when shown, else null.
async function peerStateShown(page) {
    return page.evaluate(() => {
        const el = document.querySelector('#peer-state');
        return el && !el.hidden && el.offsetParent !== null ? el.innerText.replace(/\s+/g, ' ').trim() : null;
    });
}

async function buttonsEnabled(page) {
    return page.evaluate(() => ['#btn-mute', '#btn-cam', '#btn-switch'].every((s) => !document.querySelector(s).disabled));
}

before(async () => {
    env = await PagesEnv.start('reconnect', { accounts: [AGENT],
        config: { routing: { resume_window_s: RESUME_WINDOW_S } } });
}, { timeout: 90000 });

after(async () => {
    for (const role of Object.keys(env.pages)) {
        const errs = env.errors(role);
        if (errs.length) note(`${role} page errors: ${errs.join(' | ')}`);
    }
    await env.cleanup();
});

step('set-up: an invited customer is in a call with the agent, video both ways', async () => {
    ({ agentBr, agent, cust, sessionId: st.sessionId } = await invitedCall(env, AGENT.username,
        { caseRef: CASE, note: INVITE_NOTE }));
    st.waited = (await agent.textContent('#ci-waited')).trim();
    st.call = true;
}, 90000);

step('customer reloads mid-call: Mute, Stop video and Switch camera are enabled and work', async () => {
    need(st.call, 'a call');
    await cust.reload({ waitUntil: 'load' });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 15000 });
    const [c0, c1] = await waitVideoFlows(cust);
    assert.ok(c1 > c0 && c0 > 0, `the customer decodes the agent again (${c0}→${c1})`);
    assert.ok(await until(() => buttonsEnabled(cust), 10000), 'Mute, Stop video and Switch camera are enabled after the reload');

    const track = (kind) => cust.evaluate((k) => {
        const s = window.__tc.st.stream;
        const t = s && (k === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0]);
        return t ? { enabled: t.enabled, state: t.readyState, id: t.id } : null;
    }, kind);
    await cust.click('#btn-mute');
    assert.equal(await cust.getAttribute('#btn-mute', 'aria-pressed'), 'true');
    assert.equal((await track('audio')).enabled, false, 'the microphone is muted');
    assert.equal((await cust.textContent('#btn-mute')).trim(), 'Unmute');
    await cust.click('#btn-mute');
    assert.equal((await track('audio')).enabled, true, 'and unmuted');
    await cust.click('#btn-cam');
    assert.equal(await cust.getAttribute('#btn-cam', 'aria-pressed'), 'true');
    assert.equal((await track('video')).enabled, false, 'the camera is off');
    await cust.click('#btn-cam');
    assert.equal((await track('video')).enabled, true, 'and on again');
    const before = await track('video');
    await cust.click('#btn-switch');
    await cust.waitForFunction(() => window.__tc.st.camera === 'facing:environment', null, { timeout: 10000 });
    const now = await track('video');
    assert.notEqual(now.id, before.id, 'a new camera track');
    assert.equal(now.state, 'live');
    const sent = await cust.evaluate(() => {
        const s = window.__tc.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        return s ? s.track.id : null;
    });
    assert.equal(sent, now.id, 'the new camera is what the peer connection sends');
    const [a0, a1] = await waitVideoFlows(agent);
    assert.ok(a1 > a0, `the agent still decodes the customer (${a0}→${a1})`);
    st.reloaded = true;
}, 90000);

step('a frozen picture is never "Good connection": the agent\'s camera stops sending', async () => {
    need(st.call, 'a call');
    assert.equal(await until(async () => (await qualityShown(cust)) === 'Good connection', 15000), true,
        'the label says Good connection while video flows');
    await agent.evaluate(async () => {
        const s = window.__tc.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        window.__savedTrack = s.track;
        window.__savedSender = s;
        await s.replaceTrack(null);
    });
    // framesDecoded stops; within ~3 s plus a sampling period the label changes.
    const label = await until(async () => {
        const q = await qualityShown(cust);
        return q && q !== 'Good connection' ? q : null;
    }, 12000);
    const f0 = await framesDecoded(cust);
    await sleep(1000);
    const f1 = await framesDecoded(cust);
    note(`frozen: label "${label}", framesDecoded ${f0}→${f1}`);
    assert.equal(f1, f0, 'no frames arrive (the picture is frozen)');
    assert.equal(label, 'No picture');
    await chooseLang(cust, 'zh-CN');
    assert.equal(await qualityShown(cust), '无画面');
    await chooseLang(cust, 'en');
    await agent.evaluate(() => window.__savedSender.replaceTrack(window.__savedTrack));
    const [g0, g1] = await waitVideoFlows(cust);
    assert.ok(g1 > g0, `frames arrive again (${g0}→${g1})`);
    // Back to a label about the connection (good, fair or poor: round trips vary on a busy machine).
    const back = await until(async () => {
        const q = await qualityShown(cust);
        return q && q !== 'No picture' ? q : null;
    }, 10000);
    note(`frames again: label "${back}"`);
    assert.match(back || '', /connection/, 'the label leaves "No picture" when frames arrive');
}, 60000);

step('agent tab closes: the customer sees "The agent is reconnecting…", not Good connection', async () => {
    need(st.call, 'a call');
    await agent.fill('#notes', NOTES);
    await agent.close();
    st.agentGone = Date.now();
    const text = await until(() => peerStateShown(cust), 15000);
    assert.match(text || '', /The agent is reconnecting…/, `peer state shown: ${text}`);
    // While it shows, the quality label never says Good connection.
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
        const q = await qualityShown(cust);
        assert.notEqual(q, 'Good connection', 'no "Good connection" while the agent is gone');
        await sleep(250);
    }
    await chooseLang(cust, 'zh-CN');
    assert.match(await peerStateShown(cust), /工作人员正在重新连接…/);
    await chooseLang(cust, 'en');
}, 40000);

step('the agent signs in again within the window: the call comes back with desk, waited, case and notes', async () => {
    need(st.agentGone, 'the agent\'s tab closed');
    agent = await env.page('agent-again', { br: agentBr, viewport: DESKTOP });
    await agentLogin(agent, env.origin, AGENT.username);
    await agent.waitForFunction(() => !!window.__tc.st.call, null, { timeout: 10000 });
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 10000 });
    note(`re-login ${((Date.now() - st.agentGone) / 1000).toFixed(1)} s after the tab closed`);
    assert.equal((await agent.textContent('#ci-desk')).trim(), 'Broadband help');
    assert.equal((await agent.textContent('#desk-badge')).trim(), 'Broadband help');
    assert.equal((await agent.textContent('#ci-case')).trim(), CASE);
    const waited = (await agent.textContent('#ci-waited')).trim();
    assert.ok(waited && waited !== '—', `time waited shown: "${waited}" (first "${st.waited}")`);
    assert.match(await agent.textContent('#ci-note'), new RegExp(INVITE_NOTE));
    assert.equal((await agent.textContent('#ci-session')).trim(), `#${st.sessionId}`);
    assert.equal(await agent.inputValue('#notes'), NOTES, 'the notes typed before the tab closed');
    await chooseLang(agent, 'zh-CN');
    assert.equal((await agent.textContent('#ci-desk')).trim(), '宽带协助');
    await chooseLang(agent, 'en');
    // Both sides are back to normal: video both ways, no "reconnecting" on the customer's page.
    const [a0, a1] = await waitVideoFlows(agent);
    assert.ok(a1 > a0 && a0 > 0, `the agent decodes the customer again (${a0}→${a1})`);
    const [c0, c1] = await waitVideoFlows(cust);
    assert.ok(c1 > c0, `the customer decodes the agent again (${c0}→${c1})`);
    assert.equal(await until(async () => (await peerStateShown(cust)) === null, 10000), true, 'peer state gone');
    st.back = true;
}, 90000);

step('no page errors', async () => {
    for (const role of Object.keys(env.pages)) assert.deepEqual(env.errors(role), [], `${role} page errors`);
});
