// firefox.mjs: Debian's Firefox ESR (/usr/bin/firefox-esr) in a test's network namespace,
// driven by puppeteer-core over WebDriver BiDi (shared TESTING.md, "Other WebRTC stacks").
//
// puppeteer attaches to Firefox over TCP 127.0.0.1, and the namespace's loopback is not this
// process's, so puppeteer runs in a child node process inside the namespace
// (lib/firefox-driver.mjs) and this module talks to it over its stdin/stdout, one JSON line
// each way. FirefoxPage offers the few Playwright page methods the page helpers of
// lib/pages-harness.mjs use (goto, fill, click, check, selectOption, waitForSelector,
// waitForFunction, evaluate, textContent, isHidden, screenshot, setViewportSize), so the same
// helpers drive a Firefox page and a Chromium one. Functions passed to evaluate and
// waitForFunction are sent as source text: they must not use variables of the test.
//
//   const ff = await launchFirefox(ns);      // ff.page is a FirefoxPage
//   await ff.close();                        // also: the namespace's removal kills what is left
//
// Environment: TC_FIREFOX (default /usr/bin/firefox-esr).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { onExit } from './netns.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FIREFOX = process.env.TC_FIREFOX || '/usr/bin/firefox-esr';
const DRIVER = path.join(HERE, 'firefox-driver.mjs');

export class FirefoxPage {
    constructor(ff) {
        this.ff = ff;
    }

    goto(url, opts) {
        return this.ff.request('goto', url, opts);
    }

    fill(sel, value) {
        return this.ff.request('fill', sel, value);
    }

    click(sel) {
        return this.ff.request('click', sel);
    }

    check(sel) {
        return this.ff.request('check', sel);
    }

    selectOption(sel, value) {
        return this.ff.request('selectOption', sel, value);
    }

    waitForSelector(sel, opts = {}) {
        return this.ff.request('waitForSelector', sel, opts);
    }

    // fn: a function (sent as source) called with `arg` in the page until it returns truthy.
    waitForFunction(fn, arg = null, opts = {}) {
        return this.ff.request('waitForFunction', String(fn), arg, opts);
    }

    evaluate(fn, arg = null) {
        return this.ff.request('evaluate', String(fn), arg);
    }

    textContent(sel) {
        return this.ff.request('textContent', sel);
    }

    isHidden(sel) {
        return this.ff.request('isHidden', sel);
    }

    screenshot({ path: file }) {
        return this.ff.request('screenshot', { path: file });
    }

    setViewportSize(size) {
        return this.ff.request('setViewportSize', size);
    }
}

class Firefox {
    constructor(ns, dir, child, unregister) {
        this.ns = ns;
        this.dir = dir;
        this.child = child;
        this.unregister = unregister;
        this.pid = child.pid;
        this.console = [];
        this.stderr = '';
        this.pending = new Map();
        this.nextId = 1;
        this.exited = false;
        this.page = new FirefoxPage(this);
        readline.createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
        child.stderr.on('data', (d) => {
            this.stderr = (this.stderr + d).slice(-20000);
        });
        child.on('exit', (code, signal) => {
            this.exited = true;
            const err = new Error(`firefox driver exited (${signal || code}): ${this.stderr.slice(-2000)}`);
            for (const { reject } of this.pending.values()) reject(err);
            this.pending.clear();
        });
    }

    onLine(line) {
        let msg;
        try {
            msg = JSON.parse(line);
        } catch {
            this.stderr += `${line}\n`;
            return;
        }
        if (msg.event === 'console') {
            this.console.push(`${new Date().toISOString()} ${msg.text}`);
            return;
        }
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new Error(`firefox ${p.op}: ${msg.error}`));
    }

    request(op, ...args) {
        if (this.exited) return Promise.reject(new Error(`firefox driver is gone: ${this.stderr.slice(-2000)}`));
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject, op });
            this.child.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
        });
    }

    async close() {
        if (this.closed) return;
        this.closed = true;
        if (!this.exited) {
            const gone = new Promise((r) => this.child.once('exit', r));
            // Firefox closes in a second or two; on a loaded machine it may take longer than
            // is worth waiting for: the driver goes, and the namespace's removal kills the rest.
            const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
            this.request('close').catch(() => {});
            await gone;
            clearTimeout(timer);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
        this.unregister();
    }
}

// Starts the driver in namespace `ns` and Firefox in it. Returns a Firefox ({page, version,
// console, close()}). Throws, having cleaned up, if Firefox cannot start.
export async function launchFirefox(ns, { viewport = { width: 1280, height: 860 } } = {}) {
    if (!fs.existsSync(FIREFOX)) {
        throw new Error(`${FIREFOX} not found: install Debian's firefox-esr (apt-get install firefox-esr)`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-e2e-firefox-'));
    const unregister = onExit(() => fs.rmSync(dir, { recursive: true, force: true }));
    const profile = path.join(dir, 'profile');
    fs.mkdirSync(profile);
    // HOME inside the temp dir: Firefox writes caches and crash reports under it.
    const env = { ...process.env, HOME: dir, MOZ_CRASHREPORTER_DISABLE: '1', TC_FIREFOX: FIREFOX };
    const child = ns.spawn(process.execPath, [DRIVER, profile], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const ff = new Firefox(ns, dir, child, unregister);
    try {
        const { version } = await ff.request('launch', viewport);
        ff.version = version;
    } catch (e) {
        await ff.close();
        throw e;
    }
    return ff;
}
