// firefox-driver.mjs: a small node process that drives Debian's Firefox ESR with puppeteer-core
// over WebDriver BiDi, run INSIDE a test's network namespace (lib/firefox.mjs starts it with
// `ip netns exec`). puppeteer talks to Firefox over TCP 127.0.0.1, the namespace's own loopback,
// which the test's node process (outside the namespace) cannot reach: so the test sends this
// process one JSON request per line on stdin and reads one JSON line per answer on stdout.
//
//   request  {"id": 1, "op": "goto", "args": ["https://10.203.0.1:8443/join", {...}]}
//   answer   {"id": 1, "ok": true, "value": ...}  or  {"id": 1, "ok": false, "error": "..."}
//   event    {"event": "console", "text": "..."}  (console lines and page errors)
//
// Usage: node firefox-driver.mjs PROFILE_DIR   (PROFILE_DIR: an empty directory of the test's)
// Environment: TC_FIREFOX (default /usr/bin/firefox-esr).

import readline from 'node:readline';

import puppeteer from 'puppeteer-core';

const FIREFOX = process.env.TC_FIREFOX || '/usr/bin/firefox-esr';
const profileDir = process.argv[2];

function send(obj) {
    process.stdout.write(`${JSON.stringify(obj)}\n`);
}

// A function's source and one argument, as an expression Firefox evaluates (and awaits).
function call(src, arg) {
    return `(${src})(${JSON.stringify(arg === undefined ? null : arg)})`;
}

let browser = null;
let page = null;

async function launch({ width = 1280, height = 860 } = {}) {
    browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: FIREFOX,
        headless: true,
        userDataDir: profileDir,
        acceptInsecureCerts: true,
        protocolTimeout: 60000,
        timeout: 60000,
        args: [`--width=${width}`, `--height=${height}`],
        extraPrefsFirefox: {
            'media.navigator.streams.fake': true,
            'media.navigator.permission.disabled': true,
            'media.autoplay.default': 0,
            'media.autoplay.blocking_policy': 0,
        },
    });
    page = (await browser.pages())[0] || (await browser.newPage());
    await page.setViewport({ width, height });
    page.on('console', (m) => send({ event: 'console', text: `${m.type()}: ${m.text()}` }));
    page.on('pageerror', (e) => send({ event: 'console', text: `pageerror: ${e.message}` }));
    return { version: await browser.version() };
}

// Playwright's waitForSelector states, in puppeteer's terms.
function stateOptions({ state, timeout } = {}) {
    const o = { timeout: timeout ?? 30000 };
    if (!state || state === 'visible') o.visible = true;
    else if (state === 'hidden') o.hidden = true;
    return o;
}

const ops = {
    launch,
    async goto(url, { waitUntil = 'load', timeout = 30000 } = {}) {
        await page.goto(url, { waitUntil, timeout });
    },
    async fill(sel, value) {
        await page.waitForSelector(sel, { visible: true, timeout: 30000 });
        await page.$eval(sel, (el) => {
            el.value = '';
        });
        await page.type(sel, value);
    },
    async click(sel) {
        await page.waitForSelector(sel, { visible: true, timeout: 30000 });
        await page.click(sel);
    },
    async check(sel) {
        await page.waitForSelector(sel, { timeout: 30000 });
        if (!(await page.$eval(sel, (el) => el.checked))) await page.click(sel);
    },
    async selectOption(sel, value) {
        await page.waitForSelector(sel, { visible: true, timeout: 30000 });
        return page.select(sel, value);
    },
    async waitForSelector(sel, opts) {
        await page.waitForSelector(sel, stateOptions(opts));
    },
    async waitForFunction(src, arg, { timeout = 30000 } = {}) {
        await page.waitForFunction(call(src, arg), { timeout, polling: 100 });
    },
    async evaluate(src, arg) {
        return page.evaluate(call(src, arg));
    },
    async textContent(sel) {
        return page.$eval(sel, (el) => el.textContent);
    },
    async isHidden(sel) {
        const h = await page.$(sel);
        return !h || !(await h.isVisible());
    },
    async screenshot({ path }) {
        await page.screenshot({ path });
    },
    async setViewportSize({ width, height }) {
        await page.setViewport({ width, height });
    },
    async close() {
        if (browser) await browser.close();
        browser = null;
    },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
    let req;
    try {
        req = JSON.parse(line);
    } catch {
        return;
    }
    const fn = ops[req.op];
    try {
        if (!fn) throw new Error(`unknown op ${req.op}`);
        const value = await fn(...(req.args || []));
        send({ id: req.id, ok: true, value: value === undefined ? null : value });
    } catch (e) {
        send({ id: req.id, ok: false, error: e && e.stack ? e.stack : String(e) });
    }
    if (req.op === 'close') process.exit(0);
});
// The test went away (its end of stdin closed): close Firefox and go.
rl.on('close', async () => {
    await ops.close().catch(() => {});
    process.exit(0);
});
