// server.mjs: the real telecounter binary, started INSIDE a test's network namespace
// (lib/netns.mjs), listening on 10.203.0.1:8443, with its own temp dir: a throwaway
// self-signed ECDSA certificate (SAN IP:10.203.0.1), a config, the database, the log.
// Accounts are made with telecounter-admin (--password-stdin). The same ideas as the
// integration harness (tests/integration/tchelper.py), for a namespace instead of loopback.
//
// Environment: TC_BINARY (default build/telecounter), TC_ADMIN (default
// build/telecounter-admin), TC_SOURCE_DIR (default: this repository), TC_KEEP_TMP=1 keeps
// the temp dir, TC_E2E_MEDIA_KEYS=0 leaves the [media] interface keys out of the config.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { onExit } from './netns.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.TC_SOURCE_DIR || path.resolve(HERE, '..', '..', '..');
export const BINARY = process.env.TC_BINARY || path.join(SOURCE_DIR, 'build', 'telecounter');
export const ADMIN = process.env.TC_ADMIN || path.join(SOURCE_DIR, 'build', 'telecounter-admin');
export const PASSWORD = 'correct horse battery staple';
export const PORT = 8443;

function renderConfig(cfg) {
    const out = [];
    for (const [group, keys] of Object.entries(cfg)) {
        out.push(`[${group}]`);
        for (const [k, v] of Object.entries(keys)) {
            if (v !== undefined && v !== null) out.push(`${k}=${v}`);
        }
        out.push('');
    }
    return out.join('\n');
}

function merge(base, over) {
    const out = structuredClone(base);
    for (const [group, keys] of Object.entries(over || {})) {
        out[group] = { ...(out[group] || {}), ...keys };
    }
    return out;
}

export class Server {
    // ns: a Netns. config: overrides, {group: {key: value}} (a null value drops a key).
    constructor(ns, { config = {}, name = 'server' } = {}) {
        for (const [what, p] of [
            ['TC_BINARY', BINARY],
            ['TC_ADMIN', ADMIN],
        ]) {
            if (!fs.existsSync(p)) {
                throw new Error(`${what} ${p} does not exist: build it first (cmake --build … ` +
                    '--target telecounter telecounter-admin) or set ' + what);
            }
        }
        this.ns = ns;
        this.address = ns.address;
        this.port = PORT;
        this.origin = `https://${this.address}:${this.port}`;
        this.wsUrl = `wss://${this.address}:${this.port}/ws`;
        this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `tc-e2e-${name}-`));
        const tmp = this.tmp;
        this.unregister = onExit(() => {
            if (!process.env.TC_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
        });
        this.cert = path.join(this.tmp, 'cert.pem');
        this.key = path.join(this.tmp, 'key.pem');
        this.db = path.join(this.tmp, 'telecounter.db');
        this.configPath = path.join(this.tmp, 'telecounter.conf');
        this.logPath = path.join(this.tmp, 'server.log');
        this.proc = null;
        this.exitCode = null;
        this.exited = null;
        const media = { workers: 1 };
        if (process.env.TC_E2E_MEDIA_KEYS !== '0') {
            media.interfaces = ns.iface;
            media.loopback = 'false';
        }
        this.config = merge(
            {
                server: {
                    address: this.address,
                    port: this.port,
                    public_url: this.origin,
                    allowed_origins: this.origin,
                    tls_cert: this.cert,
                    tls_key: this.key,
                    web_root: path.join(SOURCE_DIR, 'web'),
                },
                log: { level: 'debug' },
                store: { path: this.db },
                // resume_window_s: a page reload must get back within it; on a loaded
                // machine that takes more than a few seconds.
                routing: { ring_timeout_s: 10, after_call_work_s: 2, resume_window_s: 30 },
                limits: {
                    messages_per_s: 1000,
                    message_burst: 1000,
                    sessions_per_address: 100000,
                    joins_per_minute: 100000,
                },
                media,
            },
            config,
        );
        this.makeCert();
        fs.writeFileSync(this.configPath, renderConfig(this.config));
    }

    makeCert() {
        const r = spawnSync('openssl', [
            'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
            '-nodes', '-keyout', this.key, '-out', this.cert, '-days', '2',
            '-subj', `/CN=${this.address}`,
            '-addext', `subjectAltName=IP:${this.address}`,
        ], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr || r.error}`);
    }

    // `telecounter --check-config`: {ok, output}. Lets a test say why a config is refused.
    checkConfig() {
        const r = spawnSync(BINARY, ['--config', this.configPath, '--check-config'], {
            encoding: 'utf8',
            timeout: 10000,
        });
        return { ok: r.status === 0, output: `${r.stdout || ''}${r.stderr || ''}`.trim() };
    }

    admin(args, input) {
        return spawnSync(ADMIN, ['--db', this.db, ...args], {
            input,
            encoding: 'utf8',
            timeout: 60000,
        });
    }

    addAccount(username, { role = 'agent', skills = ['id_check', 'broadband', 'urgent_sim'],
        name, password = PASSWORD } = {}) {
        const args = ['add-account', username, '--role', role];
        if (skills && skills.length) args.push('--skills', skills.join(','));
        if (name) args.push('--name', name);
        args.push('--password-stdin');
        const r = this.admin(args, `${password}\n`);
        if (r.status !== 0) {
            throw new Error(`add-account ${username} failed (${r.status}): ${(r.stderr || '').trim()}`);
        }
    }

    async start({ timeoutMs = 15000 } = {}) {
        const fd = fs.openSync(this.logPath, 'a');
        fs.writeSync(fd, `---- start ${new Date().toISOString()} in ${this.ns.name}\n`);
        this.proc = this.ns.spawn(BINARY, ['--config', this.configPath], {
            stdio: ['ignore', fd, fd],
        });
        fs.closeSync(fd);
        this.exitCode = null;
        this.exited = new Promise((resolve) => {
            this.proc.on('exit', (code, signal) => {
                this.exitCode = code ?? `signal ${signal}`;
                resolve(this.exitCode);
            });
        });
        await this.waitReady(timeoutMs);
        return this;
    }

    get pid() {
        return this.proc ? this.proc.pid : null;
    }

    alive() {
        return this.proc !== null && this.exitCode === null;
    }

    // GET https://ADDRESS:PORT/path from inside the namespace (node is the client, so no
    // extra tool is needed); {status, body} or {error}.
    async httpGet(urlPath, timeoutMs = 2000) {
        const script = `
            const https = require('node:https');
            const req = https.get(${JSON.stringify(this.origin + urlPath)},
                { rejectUnauthorized: false, timeout: ${timeoutMs} }, (res) => {
                    let body = ''; res.on('data', (d) => body += d);
                    res.on('end', () => { console.log(JSON.stringify({ status: res.statusCode, body })); });
                });
            req.on('timeout', () => req.destroy(new Error('timeout')));
            req.on('error', (e) => console.log(JSON.stringify({ error: e.message })));`;
        const r = await this.ns.exec(process.execPath, ['-e', script], { timeoutMs: timeoutMs + 3000 });
        try {
            return JSON.parse(r.stdout.trim().split('\n').pop());
        } catch {
            return { error: `probe failed (${r.code}): ${r.stderr.trim()}` };
        }
    }

    async waitReady(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        let last = null;
        while (Date.now() < deadline) {
            if (!this.alive()) {
                throw new Error(`telecounter exited with ${this.exitCode} before it was ready\n` +
                    this.logTail());
            }
            const r = await this.httpGet('/readyz', 1000);
            if (r.status === 200) return;
            last = r.error || `HTTP ${r.status}`;
            await new Promise((res) => setTimeout(res, 100));
        }
        throw new Error(`telecounter not ready within ${timeoutMs} ms (last: ${last})\n${this.logTail()}`);
    }

    // SIGTERM to our own PID, then wait; SIGKILL (same PID) if it hangs. The exit code.
    async stop(timeoutMs = 10000) {
        if (!this.proc) return this.exitCode;
        if (this.alive()) {
            this.proc.kill('SIGTERM');
            const timer = new Promise((r) => setTimeout(() => r('timeout'), timeoutMs));
            if ((await Promise.race([this.exited, timer])) === 'timeout') {
                this.proc.kill('SIGKILL');
                await this.exited;
                this.exitCode = null;
            }
        }
        this.proc = null;
        return this.exitCode;
    }

    log() {
        try {
            return fs.readFileSync(this.logPath, 'utf8');
        } catch {
            return '';
        }
    }

    logTail(lines = 60) {
        const tail = this.log().split('\n').slice(-lines - 1).map((l) => `   | ${l}`).join('\n');
        return `---- server log tail (${this.logPath}):\n${tail}`;
    }

    // Copies the log next to the other artefacts.
    saveLog(dir) {
        try {
            fs.mkdirSync(dir, { recursive: true });
            fs.copyFileSync(this.logPath, path.join(dir, 'server.log'));
        } catch {
            /* nothing to keep */
        }
    }

    async cleanup() {
        await this.stop();
        this.unregister();
        if (process.env.TC_KEEP_TMP) {
            process.stderr.write(`(kept ${this.tmp})\n`);
        } else {
            fs.rmSync(this.tmp, { recursive: true, force: true });
        }
    }
}

// For callers that want the command line the harness uses (README, debugging).
export function describeBinaries() {
    let version = '';
    try {
        version = execFileSync(BINARY, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
        /* reported by the constructor */
    }
    return { binary: BINARY, admin: ADMIN, sourceDir: SOURCE_DIR, version };
}
