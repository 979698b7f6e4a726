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
//   notes typed before the tab closed;
// - the agent's tab closes again and the window passes: the customer is told the call ended;
//   the agent signs in again and gets the after-call work form for that session, with the
//   notes, and saves the outcome.
//
//   node --test pages-reconnect.test.mjs   (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, customerRedeem, framesDecoded, note, setAvailable, sleep,
    waitVideoFlows } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.resumer', name: 'Chen Jing', role: 'agent', skills: ['broadband'] };
const PHONE = { width: 360, height: 780 };
const DESKTOP = { width: 1280, height: 860 };
const CASE = 'CASE-2207';
const INVITE_NOTE = 'Router keeps dropping';
const NOTES = 'Router reset; line test booked.';
const RESUME_WINDOW_S = 20;

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

// Polls fn() until it returns a truthy value; the last value otherwise.
async function until(fn, timeoutMs, everyMs = 250) {
    const deadline = Date.now() + timeoutMs;
    let v;
    while (Date.now() < deadline) {
        v = await fn();
        if (v) return v;
        await sleep(everyMs);
    }
    return v;
}

async function setLang(page, code) {
    await page.selectOption('select[data-lang-switch]', code);
    await page.waitForFunction((c) => document.documentElement.lang === c, code);
}

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
        config: { routing: { resume_window_s: RESUME_WINDOW_S, after_call_work_s: 300 } } });
}, { timeout: 90000 });

after(async () => {
    for (const role of Object.keys(env.pages)) {
        const errs = env.errors(role);
        if (errs.length) note(`${role} page errors: ${errs.join(' | ')}`);
    }
    await env.cleanup();
});

step('set-up: an invited customer is in a call with the agent, video both ways', async () => {
    agentBr = await env.browser();
    agent = await env.page('agent', { br: agentBr, viewport: DESKTOP });
    await agentLogin(agent, env.origin, AGENT.username);
    await agent.selectOption('#inv-desk', 'broadband');
    await agent.fill('#inv-case', CASE);
    await agent.fill('#inv-note', INVITE_NOTE);
    await agent.click('#invite-btn');
    await agent.waitForSelector('#invite-result:not([hidden])', { timeout: 10000 });
    const code = (await agent.textContent('#inv-code')).trim();
    cust = await env.page('customer', { viewport: PHONE });
    await customerRedeem(cust, env.origin, code);
    await cust.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 10000 });
    await setAvailable(agent);
    await agent.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await agent.click('#ring-accept');
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 10000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 10000 });
    const [c0, c1] = await waitVideoFlows(cust);
    const [a0, a1] = await waitVideoFlows(agent);
    assert.ok(c1 > c0 && c0 > 0, `customer decodes the agent (${c0}→${c1})`);
    assert.ok(a1 > a0 && a0 > 0, `agent decodes the customer (${a0}→${a1})`);
    st.sessionId = await agent.evaluate(() => window.__tc.st.call.session_id);
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
    await setLang(cust, 'zh-CN');
    assert.equal(await qualityShown(cust), '无画面');
    await setLang(cust, 'en');
    await agent.evaluate(() => window.__savedSender.replaceTrack(window.__savedTrack));
    assert.ok(await until(async () => (await qualityShown(cust)) === 'Good connection', 15000),
        'back to Good connection when frames arrive');
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
    await setLang(cust, 'zh-CN');
    assert.match(await peerStateShown(cust), /工作人员正在重新连接…/);
    await setLang(cust, 'en');
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
    await setLang(agent, 'zh-CN');
    assert.equal((await agent.textContent('#ci-desk')).trim(), '宽带协助');
    await setLang(agent, 'en');
    // Both sides are back to normal: video both ways, no "reconnecting" on the customer's page.
    const [a0, a1] = await waitVideoFlows(agent);
    assert.ok(a1 > a0 && a0 > 0, `the agent decodes the customer again (${a0}→${a1})`);
    const [c0, c1] = await waitVideoFlows(cust);
    assert.ok(c1 > c0, `the customer decodes the agent again (${c0}→${c1})`);
    assert.equal(await until(async () => (await peerStateShown(cust)) === null, 10000), true, 'peer state gone');
    st.back = true;
}, 60000);

step('the agent is gone past the window: the customer is told; the agent gets after-call work and saves the outcome', async () => {
    need(st.back, 'the call came back');
    await agent.fill('#notes', `${NOTES} Second drop.`);
    await agent.close();
    const gone = Date.now();
    await cust.waitForSelector('[data-panel="rate"]:not([hidden])', { timeout: (RESUME_WINDOW_S + 15) * 1000 });
    note(`customer told after ${((Date.now() - gone) / 1000).toFixed(1)} s: ${(await cust.textContent('#ended-reason')).trim()}`);
    agent = await env.page('agent-late', { br: agentBr, viewport: DESKTOP });
    await agentLogin(agent, env.origin, AGENT.username);
    await agent.waitForFunction(() => window.__tc.st.state === 'after_call_work', null, { timeout: 10000 });
    await agent.waitForFunction((id) => document.querySelector('#wrap-for').textContent.includes(`#${id}`), st.sessionId,
        { timeout: 10000 });
    assert.equal((await agent.textContent('#ci-case')).trim(), CASE, 'the case reference of that call');
    assert.equal(await agent.inputValue('#notes'), `${NOTES} Second drop.`, 'the notes typed before the tab closed');
    assert.ok(!(await agent.isDisabled('#outcome-save')), 'the outcome can be saved');
    await agent.selectOption('#outcome', 'follow_up');
    await agent.click('#outcome-save');
    await agent.waitForSelector('#outcome-status .notice.ok', { timeout: 10000 });
    assert.match(await agent.textContent('#outcome-status'), new RegExp(`${st.sessionId}`));
    await agent.waitForFunction(() => window.__tc.st.state === 'available', null, { timeout: 10000 });
    const drafts = await agent.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tc.agent.notes')));
    assert.deepEqual(drafts, [], 'the notes draft is gone once the outcome is saved');
}, 90000);

step('no page errors', async () => {
    for (const role of Object.keys(env.pages)) assert.deepEqual(env.errors(role), [], `${role} page errors`);
});
