// pages-call.test.mjs: the three real pages, end to end, through the media relay.
//
// In a throwaway namespace (lib/netns.mjs) with the real telecounter serving web/: a customer
// on a 360 px phone-sized page joins `broadband` on /join and sees their place and wait; an
// agent signs in on /agent, goes available, is rung and accepts; both pages decode the other's
// video (window.__tc.pc getStats framesDecoded grows); the agent captures a still (the
// server's sha256 equals the SHA-256 of the bytes the page uploaded), hangs up and records an
// outcome; the customer rates the call; the ops dashboard shows it in today's totals with the
// rating. Screenshots: tests/e2e/artifacts/pages/call/ (and, with TC_UPDATE_SCREENSHOTS=1,
// docs/screenshots/ for the README).
//
//   node --test pages-call.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PagesEnv, SCREENSHOTS_DIR, agentLogin, customerJoin, note, opsLogin, setAvailable, sha256, sleep,
    waitVideoFlows } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.agent', name: 'Lin Wei', role: 'agent', skills: ['id_check', 'broadband', 'urgent_sim'] };
const OPS = { username: 'e2e.ops', name: 'Ops Desk', role: 'ops', skills: [] };
const PHONE = { width: 360, height: 780 };
const DESKTOP = { width: 1280, height: 860 };

let env;
const st = {};
let cust;
let agent;
let ops;

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

// The README's screenshots are refreshed only when asked (TC_UPDATE_SCREENSHOTS=1), so that a
// test run never changes tracked files; otherwise they go with the other artefacts.
async function docShot(page, name) {
    const dir = process.env.TC_UPDATE_SCREENSHOTS === '1' ? SCREENSHOTS_DIR
        : path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts', 'pages', 'docs');
    fs.mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, name) });
}

before(async () => {
    env = await PagesEnv.start('call', { accounts: [AGENT, OPS], config: { routing: { after_call_work_s: 30 } } });
    cust = await env.page('customer', { viewport: PHONE });
    agent = await env.page('agent', { viewport: DESKTOP });
}, { timeout: 90000 });

after(async () => {
    for (const role of ['customer', 'agent', 'ops']) {
        const errs = env.errors(role);
        if (errs.length) note(`${role} page errors: ${errs.join(' | ')}`);
    }
    await env.cleanup();
});

step('customer: /join broadband shows the place in the queue and the estimated wait', async () => {
    await customerJoin(cust, env.origin, 'broadband');
    const pos = await cust.textContent('#position-text');
    assert.match(pos, /next in the queue|number 1/, `position text: ${pos}`);
    assert.equal((await cust.textContent('#position')).trim(), '1');
    const wait = (await cust.textContent('#wait-est')).trim();
    assert.ok(wait && wait !== '—', `estimated wait shown: "${wait}"`);
    st.joined = true;
    // Hold audio: the relay's audio reaches the waiting page through its peer connection.
    const deadline = Date.now() + 15000;
    let packets = 0;
    while (Date.now() < deadline && packets < 20) {
        packets = await cust.evaluate(async () => {
            let n = 0;
            const pc = window.__tc.pc;
            if (pc) (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n = s.packetsReceived; });
            return n;
        });
        await sleep(250);
    }
    assert.ok(packets >= 20, `hold audio packets while waiting: ${packets}`);
    await env.shot(cust, 'customer-waiting-360.png');
    await docShot(cust, 'customer-waiting.png');
}, 40000);

step('agent: signs in, goes available, is rung (countdown) and accepts', async () => {
    need(st.joined, 'customer joined');
    await agentLogin(agent, env.origin, AGENT.username);
    await agent.waitForFunction(() => document.querySelector('#queue-body').textContent.includes('1'), null, { timeout: 10000 });
    await setAvailable(agent);
    await agent.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    const count = await agent.textContent('#ring-count');
    assert.match(count, /^\d+:\d\d$/, `ring countdown: ${count}`);
    const desc = await agent.textContent('#ring-desc');
    assert.match(desc, /Broadband/, `ring names the desk: ${desc}`);
    await env.shot(agent, 'agent-ringing-1280.png');
    await agent.click('#ring-accept');
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 10000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 10000 });
    assert.match(await cust.textContent('#agent-name'), /Lin Wei/);
    st.answered = true;
});

step('media: both pages decode the other side\'s video (framesDecoded grows)', async () => {
    need(st.answered, 'call answered');
    const [c0, c1] = await waitVideoFlows(cust);
    const [a0, a1] = await waitVideoFlows(agent);
    note(`framesDecoded: customer ${c0}→${c1}, agent ${a0}→${a1}`);
    assert.ok(c0 > 0 && c1 > c0, `customer decodes the agent's video (${c0}→${c1})`);
    assert.ok(a0 > 0 && a1 > a0, `agent decodes the customer's video (${a0}→${a1})`);
    await agent.waitForFunction(() => document.querySelector('#remote').videoWidth > 0, null, { timeout: 10000 });
    await cust.waitForFunction(() => document.querySelector('#remote').videoWidth > 0, null, { timeout: 10000 });
    st.media = true;
}, 70000);

step('evidence: the agent captures a still; the server\'s sha256 is the SHA-256 of the uploaded bytes', async () => {
    need(st.media, 'video flows');
    const [reqP, resP] = [
        agent.waitForRequest((r) => r.url().includes('/api/v1/evidence') && r.method() === 'POST', { timeout: 15000 }),
        agent.waitForResponse((r) => r.url().includes('/api/v1/evidence'), { timeout: 15000 }),
    ];
    await agent.click('#btn-capture');
    const req = await reqP;
    const res = await resP;
    const body = req.postDataBuffer();
    assert.ok(body && body.length > 1000, `uploaded a picture (${body && body.length} bytes)`);
    assert.equal(req.headers()['content-type'], 'image/jpeg');
    assert.match(req.headers().authorization || '', /^Bearer \S+/);
    assert.equal(res.status(), 201, `POST /api/v1/evidence → ${res.status()} ${await res.text().catch(() => '')}`);
    const json = await res.json();
    assert.match(json.sha256, /^[0-9a-f]{64}$/);
    assert.equal(json.sha256, sha256(body), 'server sha256 = SHA-256 of the uploaded bytes');
    assert.equal(json.bytes, body.length);
    // Full resolution of the received video, and the page shows the hash.
    const ev = await agent.evaluate(() => window.__tc.evidence.at(-1));
    const vid = await agent.evaluate(() => [document.querySelector('#remote').videoWidth, document.querySelector('#remote').videoHeight]);
    assert.deepEqual([ev.width, ev.height], vid, 'still at the video\'s own resolution');
    assert.ok(ev.match, 'page verified its own hash');
    await agent.waitForSelector(`[data-sha256="${json.sha256}"]`, { timeout: 5000 });
    st.evidence = json;
    note(`evidence ${json.id}: ${json.bytes} bytes, sha256 ${json.sha256}, ${vid.join('×')}`);
});

step('screenshots in the call (customer 360 px and 1280 px, agent 1280 px)', async () => {
    need(st.media, 'video flows');
    await sleep(1500); // quality indicator's first samples
    await env.shot(cust, 'customer-call-360.png');
    await docShot(cust, 'customer-call.png');
    await env.shot(agent, 'agent-call-1280.png');
    await docShot(agent, 'agent-call.png');
    await cust.setViewportSize(DESKTOP);
    await sleep(300);
    await env.shot(cust, 'customer-call-1280.png');
    await cust.setViewportSize(PHONE);
    await agent.setViewportSize(PHONE);
    await sleep(300);
    await env.shot(agent, 'agent-call-360.png');
    await agent.setViewportSize(DESKTOP);
    const q = await cust.textContent('#quality-text');
    assert.ok(q.trim().length > 0, `connection-quality indicator shows something: "${q}"`);
});

step('agent: ends the call and records an outcome with notes', async () => {
    need(st.answered, 'call answered');
    await agent.click('#btn-hangup');
    await agent.waitForSelector('#call-controls[hidden]', { state: 'attached', timeout: 10000 });
    await cust.waitForSelector('[data-panel="rate"]:not([hidden])', { timeout: 10000 });
    await agent.waitForFunction(() => window.__tc.st.state === 'after_call_work', null, { timeout: 10000 });
    assert.ok(!(await agent.isHidden('#acw-badge')), 'after-call work timer shown');
    await agent.selectOption('#outcome', 'resolved');
    await agent.fill('#notes', 'Modem restarted; sync restored.');
    await agent.click('#outcome-save');
    await agent.waitForSelector('#outcome-status .notice.ok', { timeout: 10000 });
    await agent.waitForFunction(() => window.__tc.st.state === 'available', null, { timeout: 10000 });
    st.outcome = true;
});

step('customer: rates the call 5 with a comment and is thanked', async () => {
    need(st.answered, 'call answered');
    await cust.check('input[name="rating"][value="5"]');
    await cust.fill('#comment', 'Quick and friendly.');
    await env.shot(cust, 'customer-rating-360.png');
    await cust.click('#rate-submit');
    await cust.waitForSelector('[data-panel="thanks"]:not([hidden])', { timeout: 10000 });
    const stored = await cust.evaluate(() => sessionStorage.getItem('tc.customer'));
    assert.equal(stored, null, 'the session token is forgotten after rating');
    st.rated = true;
});

step('ops: the dashboard shows the call in today\'s totals with the rating', async () => {
    need(st.rated, 'customer rated');
    ops = await env.page('ops', { viewport: DESKTOP });
    await opsLogin(ops, env.origin, OPS.username);
    await ops.waitForFunction(() => /5/.test(document.querySelector('[data-kpi="rating"] .v')?.textContent || ''), null, { timeout: 10000 });
    const kpi = async (id) => (await ops.innerText(`[data-kpi="${id}"]`)).replace(/\s+/g, ' ');
    const sessions = await kpi('sessions');
    const rating = await kpi('rating');
    note(`ops: sessions "${sessions}", rating "${rating}"`);
    assert.match(sessions, /^Sessions ?1\b/, sessions);
    assert.match(sessions, /1 answered/);
    assert.match(rating, /5 \/ 5/);
    assert.match(rating, /1 rated/);
    const row = (await ops.innerText('tr[data-desk="broadband"]')).replace(/\s+/g, ' ');
    assert.match(row, /5 \(1\)/, `broadband row has the rating: ${row}`);
    const agents = await ops.textContent('[data-agents="available"] .v');
    assert.equal(agents.trim(), '1', 'one agent available');
    await env.shot(ops, 'ops-1280.png');
    await docShot(ops, 'ops.png');
    await ops.setViewportSize(PHONE);
    await sleep(300);
    await env.shot(ops, 'ops-360.png');
});

step('no page errors on any page', async () => {
    for (const role of ['customer', 'agent', 'ops']) assert.deepEqual(env.errors(role), [], `${role} page errors`);
});
