// pages-a11y-staff.test.mjs: accessibility scan (axe-core, WCAG 2.1 A/AA + best practices) of the
// agent console and the ops dashboard in their main states (sign-in, console with a queue and
// an invite, ringing, dashboard in en and zh-CN): no serious or critical violation allowed, no
// sideways scrolling; screenshots at 360 px and 1280 px under artifacts/pages/a11y-staff/.
//
//   node --test pages-a11y-staff.test.mjs        (as root; TC_BINARY, TC_ADMIN)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PagesEnv, agentLogin, axeScan, customerJoin, note, opsLogin, serious, sleep } from './lib/pages-harness.mjs';

const AGENT = { username: 'e2e.a11y', name: 'Access Agent', role: 'agent', skills: ['id_check', 'broadband', 'urgent_sim'] };
const OPS = { username: 'e2e.a11y.ops', name: 'Access Ops', role: 'ops', skills: [] };
const WIDTHS = [{ width: 360, height: 780 }, { width: 1280, height: 860 }];
let env;
const report = {};

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

// Scans the page as it is, then takes both screenshots; fails on serious/critical findings.
async function check(page, label) {
    const v = await axeScan(page);
    report[label] = v;
    for (const vp of WIDTHS) {
        await page.setViewportSize(vp);
        await sleep(150);
        await env.shot(page, `${label}-${vp.width}.png`);
        // No horizontal scrolling at any width (reflow).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        const culprits = overflow > 1 ? await page.evaluate(() => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && e.getClientRects().length && !e.closest('.table-wrap'))
            .slice(0, 6).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)) : [];
        assert.ok(overflow <= 1, `${label} at ${vp.width}px scrolls sideways by ${overflow}px: ${culprits.join(' ')}`);
    }
    const bad = serious(v);
    if (v.length) note(`${label}: ${v.map((x) => `${x.id}(${x.impact})`).join(', ')}`);
    assert.deepEqual(bad.map((x) => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes })), [],
        `${label}: serious/critical accessibility violations`);
}

before(async () => {
    env = await PagesEnv.start('a11y-staff', { accounts: [AGENT, OPS] });
}, { timeout: 60000 });

after(async () => {
    fs.writeFileSync(path.join(env.art, 'axe-report.json'), JSON.stringify(report, null, 2));
    await env.cleanup();
});

step('agent: sign-in, console with an invite and a queue', async () => {
    const p = await env.page('agent');
    await p.goto(`${env.origin}/agent`, { waitUntil: 'load' });
    await p.waitForFunction(() => document.querySelector('#h-login').textContent.trim().length > 0);
    await check(p, 'agent-login');
    await agentLogin(p, env.origin, AGENT.username);
    const c = await env.page('queued', { viewport: WIDTHS[0] });
    await customerJoin(c, env.origin, 'broadband');
    await p.fill('#inv-case', 'A11Y-1');
    await p.click('#invite-btn');
    await p.waitForSelector('#invite-result:not([hidden])');
    await check(p, 'agent-console');
    await p.selectOption('#state-select', 'available');
    await p.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await check(p, 'agent-ringing');
    await p.click('#ring-decline');
    await p.waitForSelector('#ring', { state: 'hidden' });
});

step('ops: sign-in and the dashboard', async () => {
    const p = await env.page('ops');
    await p.goto(`${env.origin}/ops`, { waitUntil: 'load' });
    await p.waitForFunction(() => document.querySelector('#h-login').textContent.trim().length > 0);
    await check(p, 'ops-login');
    await opsLogin(p, env.origin, OPS.username);
    await p.waitForSelector('[data-kpi="sessions"]');
    await check(p, 'ops-dashboard');
    await p.selectOption('select[data-lang-switch]', 'zh-CN');
    await p.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await sleep(2200);
    await check(p, 'ops-dashboard-zh');
});
