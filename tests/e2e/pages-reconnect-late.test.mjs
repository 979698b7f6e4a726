// pages-reconnect-late.test.mjs: an agent whose console tab closed mid-call and who signs in
// again only after the resume window, on the real pages.
//
// An agent takes an invited customer's call and types notes; the agent's tab closes. The
// customer sees "The agent is reconnecting…" and, when routing.resume_window_s has passed, that
// the call ended. The agent signs in again in a new tab: the console shows the after-call work
// for that session (its case reference, the notes typed before the tab closed, an outcome form
// that can be saved), in English and in Chinese; the outcome is saved for that session and the
// notes draft is gone.
//
//   node --test pages-reconnect-late.test.mjs   (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, chooseLang, invitedCall, note, until } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.late', name: 'Wang Fang', role: 'agent', skills: ['broadband'] };
const CASE = 'CASE-3391';
const NOTES = 'Customer to send a photo of the router lights.';
const RESUME_WINDOW_S = 15;

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

before(async () => {
    env = await PagesEnv.start('reconnect-late', { accounts: [AGENT],
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
    ({ agentBr, agent, cust, sessionId: st.sessionId } = await invitedCall(env, AGENT.username, { caseRef: CASE }));
    st.call = true;
}, 90000);

step('the agent\'s tab closes and stays closed past the window: the customer is told the call ended', async () => {
    need(st.call, 'a call');
    await agent.fill('#notes', NOTES);
    await agent.close();
    const gone = Date.now();
    const shown = await until(() => cust.evaluate(() => {
        const el = document.querySelector('#peer-state');
        return el && !el.hidden ? el.innerText.trim() : null;
    }), 10000);
    assert.match(shown || '', /The agent is reconnecting…/, `peer state shown: ${shown}`);
    await cust.waitForSelector('[data-panel="rate"]:not([hidden])', { timeout: (RESUME_WINDOW_S + 20) * 1000 });
    const secs = (Date.now() - gone) / 1000;
    const reason = (await cust.textContent('#ended-reason')).trim();
    note(`customer told after ${secs.toFixed(1)} s: ${reason}`);
    assert.ok(secs >= RESUME_WINDOW_S - 1, `the call waited out the resume window (${secs.toFixed(1)} s)`);
    assert.equal(reason, 'The connection to the agent was lost.');
    st.ended = true;
}, 70000);

step('the agent signs in again: after-call work for that session, with the notes; the outcome is saved', async () => {
    need(st.ended, 'the call ended');
    agent = await env.page('agent-late', { br: agentBr });
    await agentLogin(agent, env.origin, AGENT.username);
    await agent.waitForFunction(() => window.__tc.st.state === 'after_call_work', null, { timeout: 10000 });
    await agent.waitForFunction((id) => document.querySelector('#wrap-for').textContent.includes(`#${id}`), st.sessionId,
        { timeout: 10000 });
    assert.equal((await agent.textContent('#ci-case')).trim(), CASE, 'the case reference of that call');
    assert.equal((await agent.textContent('#ci-desk')).trim(), 'Broadband help');
    assert.equal(await agent.inputValue('#notes'), NOTES, 'the notes typed before the tab closed');
    assert.match(await agent.textContent('#stage-empty-text'), new RegExp(`After-call work for session #${st.sessionId}`));
    await chooseLang(agent, 'zh-CN');
    assert.match(await agent.textContent('#stage-empty-text'), new RegExp(`会话 #${st.sessionId} 的话后处理`));
    assert.equal((await agent.textContent('#ci-desk')).trim(), '宽带协助');
    await chooseLang(agent, 'en');
    assert.ok(!(await agent.isDisabled('#outcome-save')), 'the outcome can be saved');
    await agent.selectOption('#outcome', 'follow_up');
    await agent.click('#outcome-save');
    await agent.waitForSelector('#outcome-status .notice.ok', { timeout: 10000 });
    assert.match(await agent.textContent('#outcome-status'), new RegExp(`${st.sessionId}`));
    await agent.waitForFunction(() => window.__tc.st.state === 'available', null, { timeout: 10000 });
    const drafts = await agent.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tc.agent.notes')));
    assert.deepEqual(drafts, [], 'the notes draft is gone once the outcome is saved');
}, 60000);

step('no page errors', async () => {
    for (const role of Object.keys(env.pages)) assert.deepEqual(env.errors(role), [], `${role} page errors`);
});
