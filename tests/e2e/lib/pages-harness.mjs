// pages-harness.mjs: shared set-up for the page tests (pages-*.test.mjs). Reuses the call
// test's harness (lib/netns.mjs, lib/server.mjs, lib/browser.mjs): one throwaway namespace,
// the real telecounter in it serving web/, one chromium in it; pages are the real ones
// (/join, /i/<code>, /agent, /ops), driven like a person would (clicks, keys).
//
//   const env = await PagesEnv.start('call', { agents: [...], ops: true });
//   const p = await env.page('customer', { viewport: {width: 360, height: 780} });
//   await env.cleanup();

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { CHROMIUM, launchBrowser, testingFlags } from './browser.mjs';
import { Netns } from './netns.mjs';
import { PASSWORD, SOURCE_DIR, Server, describeBinaries } from './server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(HERE, '..');
export const ART_ROOT = process.env.TC_E2E_ARTIFACTS || path.join(E2E_DIR, 'artifacts');
export const PAGES_ART = path.join(ART_ROOT, 'pages');
export const SCREENSHOTS_DIR = path.join(SOURCE_DIR, 'docs', 'screenshots');
export const WEB_ROOT = path.join(SOURCE_DIR, 'web');
export { PASSWORD };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

export function note(msg) {
    process.stdout.write(`${msg}\n`);
}

export class PagesEnv {
    constructor(name) {
        this.name = name;
        this.art = path.join(PAGES_ART, name);
        this.ns = null;
        this.server = null;
        this.browsers = [];
        this.pages = {}; // role -> {page, context, console}
        this.failed = false;
    }

    // accounts: [{username, name, role, skills}]; config: server config overrides.
    static async start(name, { accounts = [], config = {} } = {}) {
        const env = new PagesEnv(name);
        fs.rmSync(env.art, { recursive: true, force: true });
        fs.mkdirSync(env.art, { recursive: true });
        const bins = describeBinaries();
        note(`binary ${bins.binary} (${bins.version}); web ${WEB_ROOT}`);
        env.ns = await Netns.create();
        env.server = new Server(env.ns, { name: `pages-${name}`, config });
        const chk = env.server.checkConfig();
        if (!chk.ok) throw new Error(`telecounter --check-config refused the e2e config:\n${chk.output}`);
        for (const a of accounts) env.server.addAccount(a.username, a);
        await env.server.start();
        note(`telecounter pid ${env.server.pid} at ${env.server.origin}`);
        return env;
    }

    get origin() {
        return this.server.origin;
    }

    // A chromium in the namespace (lib/browser.mjs: TESTING.md's flags). opts: launchBrowser's.
    async browser(opts = {}) {
        const br = await launchBrowser(this.ns, opts);
        await br.context.route('**/favicon.ico', (r) => r.fulfill({ status: 204, body: '' }));
        this.browsers.push(br);
        return br;
    }

    // A chromium like browser() but WITHOUT --use-fake-ui-for-media-stream and with
    // --deny-permission-prompts: a camera/mic request is refused as if the person said no
    // (the fake devices are still there, so the refusal is about permission only).
    async denyingBrowser() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-e2e-chromium-deny-'));
        const userDataDir = path.join(dir, 'profile');
        fs.mkdirSync(userDataDir);
        const wrapper = path.join(dir, 'chromium-in-netns');
        fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${this.ns.prefix()[0]} netns exec ${this.ns.name} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
        const args = [...testingFlags(this.ns.address).filter((f) => f !== '--use-fake-ui-for-media-stream'),
            '--ignore-certificate-errors', '--deny-permission-prompts'];
        const context = await chromium.launchPersistentContext(userDataDir, {
            executablePath: wrapper, headless: true, args, ignoreHTTPSErrors: true,
            viewport: { width: 800, height: 600 }, timeout: 30000, permissions: [],
        });
        await context.route('**/favicon.ico', (r) => r.fulfill({ status: 204, body: '' }));
        const br = { context, args, async close() {
            await context.close().catch(() => {});
            fs.rmSync(dir, { recursive: true, force: true });
        } };
        this.browsers.push(br);
        return br;
    }

    // A page for `role` in a chromium of its own (own storage, own media permission), unless
    // `br` is given. Records console output and page errors.
    async page(role, { br, viewport = { width: 1280, height: 860 } } = {}) {
        if (!br) br = await this.browser();
        const page = br.context.pages()[0] && !br.used ? br.context.pages()[0] : await br.context.newPage();
        br.used = true;
        await page.setViewportSize(viewport);
        const con = [];
        page.on('console', (m) => con.push(`${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => con.push(`pageerror: ${e.message}`));
        // The signaling transcript (SDP shortened), for failure reports.
        const short = (x) => String(x).replace(/"sdp":"(?:[^"\\]|\\.)*"/, '"sdp":"…"').slice(0, 400);
        page.on('websocket', (ws) => {
            ws.on('framesent', (f) => con.push(`${new Date().toISOString()} > ${short(f.payload)}`));
            ws.on('framereceived', (f) => con.push(`${new Date().toISOString()} < ${short(f.payload)}`));
            ws.on('close', () => con.push(`${new Date().toISOString()} ws closed`));
        });
        this.pages[role] = { page, br, console: con };
        return page;
    }

    errors(role) {
        return (this.pages[role]?.console || []).filter((l) => l.startsWith('pageerror'));
    }

    async shot(page, file) {
        const p = path.join(this.art, file);
        await page.screenshot({ path: p, fullPage: false });
        return p;
    }

    async cleanup() {
        for (const [role, { page, console: con }] of Object.entries(this.pages)) {
            fs.writeFileSync(path.join(this.art, `${role}-console.log`), con.join('\n') + '\n');
            if (this.failed) {
                await page.screenshot({ path: path.join(this.art, `${role}-final.png`) }).catch(() => {});
            }
        }
        for (const br of this.browsers) await br.close();
        if (this.server) {
            const code = await this.server.stop();
            this.server.saveLog(this.art);
            if (this.failed) process.stdout.write(this.server.logTail(60) + '\n');
            await this.server.cleanup();
            this.exitCode = code;
        }
        if (this.ns) await this.ns.remove();
        note(`artefacts in ${this.art}`);
    }
}

// ---- page helpers (a person's actions) -------------------------------------------------------------

export async function agentLogin(page, origin, username, password = PASSWORD) {
    await page.goto(`${origin}/agent`, { waitUntil: 'load' });
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#login-btn');
    await page.waitForSelector('[data-panel="console"]:not([hidden])', { timeout: 20000 });
}

export async function setAvailable(page) {
    await page.selectOption('#state-select', 'available');
    // A waiting customer may ring the agent at once: any of these means "available" was taken.
    await page.waitForFunction(() => ['available', 'ringing', 'on_call'].includes(window.__tc.st.state), null, { timeout: 10000 });
}

export async function opsLogin(page, origin, username, password = PASSWORD) {
    await page.goto(`${origin}/ops`, { waitUntil: 'load' });
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#login-btn');
    await page.waitForSelector('[data-panel="dash"]:not([hidden])', { timeout: 20000 });
}

// Opens a customer page and waits until its controls are wired: the page starts
// asynchronously (catalogs first), so a click right after 'load' can be lost.
export async function openCustomer(page, url) {
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('html[data-ready="true"]', { state: 'attached', timeout: 15000 });
}

// /join: choose the desk, check devices, (consent), join. Returns when the queue is shown.
export async function customerJoin(page, origin, desk = 'broadband') {
    await openCustomer(page, `${origin}/join`);
    await page.check(`input[name="desk"][value="${desk}"]`);
    await page.click('#to-devices');
    await page.waitForSelector('#devices-ok:not([disabled])', { timeout: 30000 }); // camera start: slow on a loaded machine
    await page.click('#devices-ok');
    if (desk === 'id_check') {
        await page.check('#consent-box');
        await page.click('#consent-ok');
    }
    await page.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 15000 });
}

// The code is checked first (customer.redeem before the camera step): an invalid one ends on
// the problem page without the device check.
export async function customerRedeem(page, origin, code) {
    await openCustomer(page, `${origin}/i/${code}`);
    await page.click('#to-devices');
    // (one condition, not a selector list: Playwright waits for the first element a list matches)
    await page.waitForFunction(() => {
        const ok = document.querySelector('#devices-ok');
        return !document.querySelector('[data-panel="problem"]').hidden ||
            (!document.querySelector('[data-panel="devices"]').hidden && !ok.disabled);
    }, null, { timeout: 30000 }); // camera start: slow on a loaded machine
    if (await page.isVisible('[data-panel="problem"]')) return;
    await page.click('#devices-ok');
    await page.waitForSelector('[data-panel="waiting"]:not([hidden]), [data-panel="consent"]:not([hidden]), [data-panel="problem"]:not([hidden])',
        { timeout: 15000 });
}

// framesDecoded of the page's peer connection (window.__tc.pc).
export async function framesDecoded(page) {
    return page.evaluate(async () => {
        const pc = window.__tc && window.__tc.pc;
        if (!pc) return -1;
        let n = 0;
        (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video') n = Math.max(n, s.framesDecoded || 0);
        });
        return n;
    });
}

// Waits until framesDecoded grows past a first non-zero value; returns [first, last].
export async function waitVideoFlows(page, timeoutMs = 25000) {
    const deadline = Date.now() + timeoutMs;
    let first = 0;
    let last = 0;
    while (Date.now() < deadline) {
        last = await framesDecoded(page);
        if (!first && last > 0) first = last;
        if (first && last > first + 5) return [first, last];
        await sleep(250);
    }
    return [first, last];
}

// axe-core over the page: violations of impact serious/critical (WCAG 2.1 A/AA rules).
const AXE_SRC = fs.readFileSync(path.join(E2E_DIR, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
export async function axeScan(page) {
    await page.evaluate(AXE_SRC);
    const res = await page.evaluate(async () => {
        const r = await window.axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
            resultTypes: ['violations'],
        });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }));
    });
    return res;
}

export function serious(violations) {
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// ---- calls that drop and come back (pages-reconnect*.test.mjs) ---------------------------------------

// Polls fn() until it returns a truthy value (then that value), or the last value at the deadline.
export async function until(fn, timeoutMs, everyMs = 250) {
    const deadline = Date.now() + timeoutMs;
    let v;
    while (Date.now() < deadline) {
        v = await fn();
        if (v) return v;
        await sleep(everyMs);
    }
    return v;
}

// The page's language switch, as a person uses it.
export async function chooseLang(page, code) {
    await page.selectOption('select[data-lang-switch]', code);
    await page.waitForFunction((c) => document.documentElement.lang === c, code);
}

// An agent (own chromium, signed in) issues an invite for `desk` with a case reference and a
// note; a customer (own chromium, phone-sized) redeems it; the agent goes available and accepts;
// video flows both ways. Returns {agentBr, agent, cust, sessionId}.
export async function invitedCall(env, username, { desk = 'broadband', caseRef, note: inviteNote } = {}) {
    const agentBr = await env.browser();
    const agent = await env.page('agent', { br: agentBr });
    await agentLogin(agent, env.origin, username);
    await agent.selectOption('#inv-desk', desk);
    await agent.fill('#inv-case', caseRef);
    if (inviteNote) await agent.fill('#inv-note', inviteNote);
    await agent.click('#invite-btn');
    await agent.waitForSelector('#invite-result:not([hidden])', { timeout: 10000 });
    const code = (await agent.textContent('#inv-code')).trim();
    const cust = await env.page('customer', { viewport: { width: 360, height: 780 } });
    await customerRedeem(cust, env.origin, code);
    await cust.waitForSelector('[data-panel="waiting"]:not([hidden])', { timeout: 10000 });
    await setAvailable(agent);
    await agent.waitForSelector('#ring:not([hidden])', { timeout: 15000 });
    await agent.click('#ring-accept');
    await agent.waitForSelector('#callinfo:not([hidden])', { timeout: 10000 });
    await cust.waitForSelector('[data-panel="call"]:not([hidden])', { timeout: 10000 });
    const [c0, c1] = await waitVideoFlows(cust);
    const [a0, a1] = await waitVideoFlows(agent);
    if (!(c1 > c0 && c0 > 0)) throw new Error(`the customer does not decode the agent (${c0}→${c1})`);
    if (!(a1 > a0 && a0 > 0)) throw new Error(`the agent does not decode the customer (${a0}→${a1})`);
    const sessionId = await agent.evaluate(() => window.__tc.st.call.session_id);
    return { agentBr, agent, cust, sessionId };
}
