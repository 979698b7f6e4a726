// pages-invite.test.mjs: the invite flow on the real pages.
//
// Two customers already wait at `id_check` (joined on /join). An agent, not yet available,
// issues an invite code for `id_check` on /agent (code, link, copy button, QR code). A third
// customer opens /i/<code>: after the consent step they are in the queue at place 1, ahead of
// the two who came first; when the agent goes available, the ring is for the invited
// customer (priority "invite", case reference shown). A second use of the same code is
// refused with the page's own error text.
//
//   node --test pages-invite.test.mjs      (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, customerJoin, customerRedeem, note, setAvailable, sleep } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.inviter', name: 'Zhang Min', role: 'agent', skills: ['id_check', 'urgent_sim'] };
const PHONE = { width: 360, height: 780 };
const CASE = 'CASE-4711';
let env;
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

before(async () => {
    env = await PagesEnv.start('invite', { accounts: [AGENT] });
}, { timeout: 60000 });

after(async () => {
    await env.cleanup();
});

step('two customers wait at id_check (consent step, then the queue)', async () => {
    for (const who of ['early1', 'early2']) {
        // One chromium, two tabs (each tab has its own sessionStorage, so its own session).
        const p = await env.page(who, { viewport: PHONE, br: env.pages.early1?.br });
        await customerJoin(p, env.origin, 'id_check');
    }
    const pos2 = (await env.pages.early2.page.textContent('#position')).trim();
    assert.equal(pos2, '2', 'the second customer is number 2');
    st.waiting = true;
});

step('agent issues an invite code: code, link, copy and QR code', async () => {
    const ag = await env.page('agent');
    await agentLogin(ag, env.origin, AGENT.username);
    await ag.selectOption('#inv-desk', 'id_check');
    await ag.fill('#inv-case', CASE);
    await ag.fill('#inv-note', 'Lost wallet; new SIM');
    await ag.selectOption('#inv-valid', '3600');
    await ag.click('#invite-btn');
    await ag.waitForSelector('#invite-result:not([hidden])', { timeout: 10000 });
    const code = (await ag.textContent('#inv-code')).trim();
    const link = (await ag.textContent('#inv-link')).trim();
    assert.match(code, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/, `code ${code}`);
    assert.equal(link, `${env.origin}/i/${code}`);
    assert.ok(await ag.$('#inv-qr svg[role="img"] path'), 'a QR code is drawn');
    await ag.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.origin }).catch(() => {});
    await ag.click('#copy-link');
    await ag.waitForFunction(() => document.querySelector('#copy-status').textContent.trim().length > 0);
    await env.shot(ag, 'agent-invite-1280.png');
    st.code = code;
    note(`invite ${code} → ${link}`);
});

step('the invited customer on /i/<code> is served before those already waiting', async () => {
    if (!st.code || !st.waiting) throw new Error('cannot run: an earlier step failed');
    const inv = await env.page('invited', { viewport: PHONE });
    await customerRedeem(inv, env.origin, st.code);
    // The code told the page the desk is id_check: the recording notice comes first.
    await inv.waitForSelector('[data-panel="consent"]:not([hidden])', { timeout: 10000 });
    await inv.check('#consent-box');
    await inv.click('#consent-ok');
    await inv.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 10000 });
    assert.equal((await inv.textContent('#position')).trim(), '1', 'the invited customer is first');
    await env.shot(inv, 'customer-invited-waiting-360.png');
    // The others moved down.
    await env.pages.early1.page.waitForFunction(() => document.querySelector('#position').textContent.trim() === '2', null, { timeout: 10000 });
    const ag = env.pages.agent.page;
    await ag.waitForFunction(() => /1/.test(document.querySelector('#queue-body .badge.urgent')?.textContent || ''), null, { timeout: 10000 });
    await setAvailable(ag);
    await ag.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    assert.ok(!(await ag.isHidden('#ring-urgent')), 'the ring is marked as a priority invite');
    assert.match(await ag.textContent('#ring-desc'), new RegExp(CASE));
    await env.shot(ag, 'agent-ring-invite-1280.png');
    await ag.click('#ring-accept');
    await inv.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 10000 });
    assert.equal(await ag.textContent('#ci-case'), CASE);
    for (const who of ['early1', 'early2']) {
        assert.ok(await env.pages[who].page.isVisible('[data-panel="waiting"]'), `${who} still waits`);
    }
});

step('a second use of the code is refused with the page\'s error text', async () => {
    if (!st.code) throw new Error('cannot run: no code');
    const again = await env.page('again', { viewport: PHONE, br: env.pages.early1.br });
    await customerRedeem(again, env.origin, st.code);
    await again.waitForSelector('[data-panel="problem"]:not([hidden])', { timeout: 10000 });
    const text = await again.textContent('#problem-text');
    assert.match(text, /This invitation code is not valid/, text);
    await env.shot(again, 'customer-invalid-code-360.png');
    // Cleanly end the call.
    const ag = env.pages.agent.page;
    if (await ag.isVisible('#btn-hangup')) {
        await ag.click('#btn-hangup');
        await sleep(500);
    }
}, 120000); // a new tab in a chromium that carries two calls' media loads slowly on a loaded machine
