// pages-queue.test.mjs: what the customer page says about the queue and about invitation codes
// (issue 12 item 2's page side, item 18, the throttled answer), on the real pages.
//
// - an invalid code is checked before the camera step: the error page comes with no
//   getUserMedia call at all, and it has a code field (prefilled) to try another code;
// - with no agent signed in, the waiting page says "No agent is available right now" (en and
//   zh-CN), never "You are next" / "less than a minute"; an agent going available brings the
//   estimate; the agent declining (not ready) brings the no-agent text back;
// - /join?desk=urgent_sim says plainly that the urgent desk needs an invitation (en, zh-CN), and
//   a valid code typed into /join's code field is redeemed before the camera is opened;
// - a join answered `throttled` (limits.sessions_per_address) after the camera step shows the
//   wait, and every camera and microphone track is stopped on that error page.
// Screenshots at 360, 768 and 1366 px in both languages and an axe scan of the invalid-code page
// (with its code field) and of the no-agent waiting page; 360 px ones of the others.
//
//   node --test pages-queue.test.mjs      (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, chooseLang, customerJoin, note, openCustomer, setAvailable, until } from './lib/pages-harness.mjs';
import { checkState, gumState, trackGum } from './lib/pages-checks.mjs';

const AGENT = { username: 'e2e.queue', name: 'Li Na', role: 'agent', skills: ['broadband', 'urgent_sim'] };
const PHONE = { width: 360, height: 780 };
let env;
const report = {};
const st = {};

function step(name, fn, timeout = 60000) {
    test(name, { timeout }, async () => {
        try {
            await fn();
        } catch (e) {
            if (env) env.failed = true;
            throw e;
        }
    });
}

before(async () => {
    // Two open sessions per address: the third join from the namespace is throttled.
    env = await PagesEnv.start('queue', {
        accounts: [AGENT],
        config: { routing: { ring_timeout_s: 60 }, limits: { sessions_per_address: 2 } },
    });
}, { timeout: 60000 });

after(async () => {
    if (env) {
        fs.writeFileSync(path.join(env.art, 'axe-report.json'), JSON.stringify(report, null, 2));
        await env.cleanup();
    }
});

async function waitingText(p) {
    return (await p.innerText('[data-panel="waiting"]')).replace(/\s+/g, ' ');
}

step('an invalid code: checked before the camera step; the error page has a code field', async () => {
    st.br = await env.browser(); // one chromium for the pages that come and go (tabs)
    const p = await env.page('badcode', { viewport: PHONE, br: st.br });
    await trackGum(p);
    await openCustomer(p, `${env.origin}/i/ABCD-EFGH-JKMN`);
    await p.click('#to-devices');
    await p.waitForSelector('[data-panel="problem"]:not([hidden])', { timeout: 15000 });
    assert.match(await p.textContent('#problem-text'), /This invitation code is not valid/);
    assert.equal((await gumState(p)).calls, 0, 'the camera is never asked for a code that is not valid');
    assert.ok(await p.isVisible('#problem-code-slot #code-input'), 'the error page has the code field');
    assert.equal(await p.inputValue('#code-input'), 'ABCD-EFGH-JKMN', 'prefilled with the code tried');
    // Another wrong code from the field: the same page again, still no camera.
    await p.fill('#code-input', 'WXYZ-2345-6789');
    await p.click('#code-use');
    await p.waitForFunction(() => document.querySelector('#code-input').value === 'WXYZ-2345-6789' &&
        !document.querySelector('[data-panel="problem"]').hidden, null, { timeout: 10000 });
    await p.waitForFunction(() => !document.querySelector('#code-use').disabled, null, { timeout: 10000 });
    assert.equal((await gumState(p)).calls, 0);
    await checkState(env, p, 'customer-invalid-code', { report });
    await p.setViewportSize(PHONE);
    await chooseLang(p, 'zh-CN');
    assert.match(await p.textContent('#problem-text'), /此邀请码无效/);
    assert.match(await p.textContent('label[for="code-input"]'), /邀请码/);
    await chooseLang(p, 'en');
});

step('no agent signed in: the waiting page says so plainly, in en and zh-CN', async () => {
    const p = await env.page('alone', { viewport: PHONE });
    await customerJoin(p, env.origin, 'broadband');
    await p.waitForSelector('#no-agent:not([hidden])', { timeout: 10000 });
    let text = await waitingText(p);
    note(`no agent (en): ${text}`);
    assert.match(text, /No agent is available right now/);
    assert.doesNotMatch(text, /You are next|less than a minute/);
    assert.equal((await p.textContent('#wait-est')).trim(), 'not known yet');
    await chooseLang(p, 'zh-CN');
    text = await waitingText(p);
    assert.match(text, /目前没有可接待的工作人员/);
    assert.doesNotMatch(text, /下一位就是您|不到 1 分钟/);
    await chooseLang(p, 'en');
    await checkState(env, p, 'customer-no-agent', { report });
    await p.setViewportSize(PHONE);
    st.alone = p;
});

step('an agent going available brings the estimate; the agent declining brings the no-agent text back', async () => {
    const p = st.alone;
    if (!p) throw new Error('cannot run: no waiting customer');
    const ag = await env.page('agent');
    await agentLogin(ag, env.origin, AGENT.username);
    // Signed in but not ready: still nobody to take the call.
    assert.ok(await p.isVisible('#no-agent'), 'a not-ready agent does not count');
    await setAvailable(ag);
    await p.waitForSelector('#no-agent', { state: 'hidden', timeout: 10000 });
    const est = (await p.textContent('#wait-est')).trim();
    note(`estimate with one agent: ${est}`);
    assert.match(est, /less than a minute|about \d+ min/);
    assert.match(await waitingText(p), /You are next in the queue/);
    await env.shot(p, 'customer-estimate-en-360.png');
    // The agent is rung for this customer and declines: not ready, nobody left.
    await ag.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await ag.click('#ring-decline');
    await p.waitForSelector('#no-agent:not([hidden])', { timeout: 10000 });
    assert.doesNotMatch(await waitingText(p), /You are next|less than a minute/);
});

step('/join?desk=urgent_sim needs an invitation, said plainly; a code typed on /join is checked first', async () => {
    const p = await env.page('urgent', { viewport: PHONE, br: st.br });
    await trackGum(p);
    await openCustomer(p, `${env.origin}/join?desk=urgent_sim`);
    await p.waitForSelector('#urgent-needs-invite:not([hidden])');
    assert.match(await p.innerText('#urgent-needs-invite'), /Urgent help needs an invitation/);
    assert.ok(await p.isVisible('#code-input'), '/join has a code field');
    await chooseLang(p, 'zh-CN');
    assert.match(await p.innerText('#urgent-needs-invite'), /紧急服务需要邀请/);
    await env.shot(p, 'customer-urgent-needs-invite-zh-CN-360.png');
    await chooseLang(p, 'en');
    await env.shot(p, 'customer-urgent-needs-invite-en-360.png');
    // An invite from the agent, typed (lower case, no dashes) into the field.
    const ag = env.pages.agent.page;
    await ag.selectOption('#inv-desk', 'urgent_sim');
    await ag.fill('#inv-case', 'CASE-LOST-1');
    await ag.click('#invite-btn');
    await ag.waitForSelector('#invite-result:not([hidden])', { timeout: 10000 });
    const code = (await ag.textContent('#inv-code')).trim();
    const frames = [];
    p.on('websocket', (ws) => ws.on('framesent', (f) => frames.push({ at: Date.now(), f: String(f.payload) })));
    await p.fill('#code-input', code.replace(/-/g, '').toLowerCase());
    await p.click('#code-use');
    await p.waitForSelector('#devices-ok:not([disabled])', { timeout: 30000 }); // camera start: slow on a loaded machine
    assert.equal(await p.evaluate(() => location.pathname), `/i/${code}`);
    assert.ok(frames.some((x) => /"customer.redeem"/.test(x.f)), 'the code was redeemed');
    assert.ok((await gumState(p)).calls >= 1, 'the camera step came after the code was accepted');
    await p.click('#devices-ok');
    await p.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 15000 });
    assert.equal((await p.textContent('#position')).trim(), '1', 'the invitation goes first');
    assert.match(await waitingText(p), /Urgent: lost phone or SIM/);
    st.invited = p;
});

step('throttled join after the camera step: the wait is shown and every track is stopped', async () => {
    // Two sessions of this address are open (the broadband customer and the invited one; if an
    // earlier step failed, other customers make up the two).
    const open = [st.alone, st.invited].filter(Boolean).length;
    for (let i = open; i < 2; i++) await customerJoin(await env.page(`filler${i}`, { viewport: PHONE }), env.origin, 'broadband');
    const p = await env.page('throttled', { viewport: PHONE, br: st.br });
    await trackGum(p);
    await openCustomer(p, `${env.origin}/join`);
    await p.click('#to-devices');
    await p.waitForSelector('#devices-ok:not([disabled])', { timeout: 30000 }); // camera start: slow on a loaded machine
    const before = await gumState(p);
    assert.ok(before.live.length >= 2, `camera and microphone are on: ${JSON.stringify(before)}`);
    await p.click('#devices-ok');
    await p.waitForSelector('[data-panel="problem"]:not([hidden])', { timeout: 15000 });
    const g = await until(async () => {
        const s = await gumState(p);
        return s.live.length === 0 ? s : null;
    }, 5000);
    assert.ok(g && g.live.length === 0, `every track stopped on the error page: ${JSON.stringify(await gumState(p))}`);
    const text = await p.textContent('#problem-text');
    note(`throttled: ${text}`);
    assert.match(text, /Too many sessions were started from your network\. Please try again in (1 min|\d+ s)\./);
    await env.shot(p, 'customer-throttled-en-360.png');
    await chooseLang(p, 'zh-CN');
    assert.match(await p.textContent('#problem-text'), /您的网络发起的会话过多。请在 .+ 后重试。/);
    await env.shot(p, 'customer-throttled-zh-CN-360.png');
}, 120000);
