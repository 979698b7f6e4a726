// webrtcbin.mjs: tools/peer/webrtcbin_customer.py (a customer made of GStreamer's webrtcbin)
// run inside a test's network namespace with Debian's /usr/bin/python3, and its JSON-lines
// report read back (see the script's docstring for the events).
//
//   const peer = startWebrtcbinCustomer(ns, { url: server.wsUrl, desk: 'broadband' });
//   await peer.waitFor((e) => e.event === 'joined', 20000);
//   peer.lastStats()                     // the latest {"event": "stats", ...}
//   await peer.stop();                   // SIGTERM by PID, SIGKILL after 5 s

import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.TC_PYTHON || '/usr/bin/python3';
// The script of this checkout (beside these tests), whatever TC_SOURCE_DIR serves the pages from.
export const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tools', 'peer',
    'webrtcbin_customer.py');

class WebrtcbinCustomer {
    constructor(child) {
        this.child = child;
        this.pid = child.pid;
        this.events = [];
        this.stderr = '';
        this.exit = null;
        this.exited = new Promise((resolve) => {
            child.on('exit', (code, signal) => {
                this.exit = { code, signal };
                resolve(this.exit);
            });
        });
        readline.createInterface({ input: child.stdout }).on('line', (line) => {
            try {
                this.events.push(JSON.parse(line));
            } catch {
                this.stderr += `stdout: ${line}\n`;
            }
        });
        child.stderr.on('data', (d) => {
            this.stderr = (this.stderr + d).slice(-20000);
        });
    }

    find(pred) {
        return this.events.find(pred);
    }

    lastStats() {
        for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].event === 'stats') return this.events[i];
        return null;
    }

    // Polls until an event matches `pred`; throws with the peer's last words otherwise.
    async waitFor(pred, timeoutMs, what = 'an event') {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const e = this.find(pred);
            if (e) return e;
            const err = this.find((x) => x.event === 'error');
            if (err) throw new Error(`webrtcbin customer failed waiting for ${what}: ${err.message}\n${this.tail()}`);
            if (this.exit) throw new Error(`webrtcbin customer exited (${JSON.stringify(this.exit)}) waiting for ${what}\n${this.tail()}`);
            if (Date.now() > deadline) throw new Error(`webrtcbin customer: no ${what} in ${timeoutMs} ms\n${this.tail()}`);
            await sleep(100);
        }
    }

    tail() {
        const evs = this.events.filter((e) => e.event !== 'stats').map((e) => JSON.stringify(e).slice(0, 300));
        const st = this.lastStats();
        return [...evs, st ? JSON.stringify(st) : '(no stats)', `stderr: ${this.stderr.slice(-3000)}`].join('\n');
    }

    async stop() {
        if (this.exit) return this.exit;
        try {
            process.kill(this.pid, 'SIGTERM');
        } catch {
            /* gone */
        }
        const timer = setTimeout(() => {
            try {
                process.kill(this.pid, 'SIGKILL');
            } catch {
                /* gone */
            }
        }, 5000);
        const res = await this.exited;
        clearTimeout(timer);
        return res;
    }
}

// Starts the script in namespace `ns`. Options: url (the server's wss://…/ws), desk, timeoutS
// (the script gives up by itself after that), extraArgs.
export function startWebrtcbinCustomer(ns, { url, desk = 'broadband', timeoutS = 150, extraArgs = [] } = {}) {
    const args = [SCRIPT, '--url', url, '--desk', desk, '--timeout', String(timeoutS), ...extraArgs];
    // GST_DEBUG_NO_COLOR: plain warnings in the failure report.
    const env = { ...process.env, GST_DEBUG_NO_COLOR: '1', GST_DEBUG: process.env.GST_DEBUG || '2' };
    const child = ns.spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    return new WebrtcbinCustomer(child);
}
