// netns.mjs: a throwaway network namespace for one e2e run (see shared TESTING.md,
// "A namespace for browser tests"). Everything the test runs, the server and Chromium,
// runs inside it, so no packet can leave this machine: the namespace has only lo and a
// veth pair whose both ends stay inside it; the default route points at an address
// nobody holds, so Chromium sees an ordinary host and gathers ICE candidates on tcv0.
//
//   const ns = await Netns.create();   // tc-e2e-<pid>-<n>, 10.203.0.1 on tcv0
//   ns.spawn(cmd, args)                // child_process.spawn inside it (ip netns exec)
//   ns.exec(cmd, args)                 // run to completion inside it; {code, stdout, stderr}
//   await ns.remove();                 // also done on process exit and on signals
//
// Removal happens on every exit path: an explicit remove(), the process 'exit' event,
// SIGINT/SIGTERM/SIGHUP (an uncaught exception ends in 'exit' too). Processes still inside the namespace
// at removal are ours (the namespace is unique to this run) and are killed by PID.

import { execFileSync, spawn } from 'node:child_process';

export const NS_ADDRESS = '10.203.0.1';
export const NS_GATEWAY = '10.203.0.2'; // held by nobody: the default route leads nowhere
export const NS_IFACE = 'tcv0';
export const NS_PEER_IFACE = 'tcv1';
const IP = process.env.TC_IP || 'ip';

const live = new Set(); // namespaces made by this process and not yet removed
const cleanups = new Set(); // synchronous clean-ups (temp dirs) for the same exit paths
let counter = 0;
let handlersInstalled = false;

function ip(args, { input } = {}) {
    try {
        return execFileSync(IP, args, {
            input,
            encoding: 'utf8',
            stdio: ['pipe', 'pipe', 'pipe'],
            timeout: 10000,
        });
    } catch (e) {
        const err = (e.stderr || '').toString().trim() || e.message;
        const wrapped = new Error(`ip ${args.join(' ')}: ${err}`);
        wrapped.stderr = err;
        throw wrapped;
    }
}

function pidsIn(name) {
    try {
        return ip(['netns', 'pids', name])
            .split(/\s+/)
            .filter(Boolean)
            .map(Number)
            .filter((p) => p > 0 && p !== process.pid);
    } catch {
        return [];
    }
}

// Synchronous, idempotent removal; safe in 'exit' handlers.
function removeSync(name) {
    if (!live.has(name)) return;
    for (const pid of pidsIn(name)) {
        try {
            process.kill(pid, 'SIGKILL'); // a process of ours, left inside our namespace
        } catch {
            /* already gone */
        }
    }
    try {
        ip(['netns', 'del', name]);
    } catch (e) {
        if (!/No such file|not found|does not exist/i.test(e.stderr || '')) {
            process.stderr.write(`netns: could not remove ${name}: ${e.message}\n`);
        }
    }
    live.delete(name);
}

function removeAllSync() {
    for (const name of [...live]) removeSync(name);
    for (const fn of [...cleanups]) {
        cleanups.delete(fn);
        try {
            fn();
        } catch {
            /* best effort */
        }
    }
}

// Registers a synchronous clean-up (e.g. removing a temp dir) run on the same exit paths as
// the namespace's removal (exit, signals); returns a function that unregisters it.
export function onExit(fn) {
    installHandlers();
    cleanups.add(fn);
    return () => cleanups.delete(fn);
}

function installHandlers() {
    if (handlersInstalled) return;
    handlersInstalled = true;
    process.on('exit', removeAllSync);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
        process.on(sig, () => {
            removeAllSync();
            // Default disposition, as if we had not caught it.
            process.removeAllListeners(sig);
            process.kill(process.pid, sig);
        });
    }
}

// Namespaces left by an earlier run of this suite that died without cleaning up:
// tc-e2e-<pid>-<n> whose pid is no longer alive and that holds no process.
function sweepStale() {
    let list = '';
    try {
        list = ip(['netns', 'list']);
    } catch {
        return;
    }
    for (const line of list.split('\n')) {
        const m = /^(tc-e2e-(\d+)-\d+)\b/.exec(line.trim());
        if (!m) continue;
        const pid = Number(m[2]);
        if (pid === process.pid) continue;
        let alive = true;
        try {
            process.kill(pid, 0);
        } catch (e) {
            alive = e.code === 'EPERM';
        }
        if (alive || pidsIn(m[1]).length) continue;
        try {
            ip(['netns', 'del', m[1]]);
        } catch {
            /* someone else got it */
        }
    }
}

export class Netns {
    constructor(name) {
        this.name = name;
        this.address = NS_ADDRESS;
        this.iface = NS_IFACE;
    }

    // Creates and configures the namespace. Throws a clear error when that is impossible
    // (not root, no CAP_NET_ADMIN, no `ip`): the e2e tests must fail then, not skip.
    static async create({ name } = {}) {
        installHandlers();
        sweepStale();
        const nsName = name || `tc-e2e-${process.pid}-${counter++}`;
        try {
            ip(['netns', 'add', nsName]);
        } catch (e) {
            const uid = typeof process.getuid === 'function' ? process.getuid() : '?';
            throw new Error(
                `cannot create network namespace ${nsName} (uid ${uid}): ${e.message}. ` +
                    'The browser e2e tests need root (CAP_SYS_ADMIN + CAP_NET_ADMIN) for ' +
                    '`ip netns add`: run them as root (e.g. sudo ctest -L e2e).',
            );
        }
        live.add(nsName);
        const ns = new Netns(nsName);
        try {
            const n = ['-n', nsName];
            ip([...n, 'link', 'set', 'lo', 'up']);
            ip([...n, 'link', 'add', NS_IFACE, 'type', 'veth', 'peer', 'name', NS_PEER_IFACE]);
            // No IPv6 link-local addresses on the veths: the kernel would add them after
            // duplicate address detection, a second or two after the link is up, and
            // Chromium takes a new address for a network change and fails the navigation
            // in flight with net::ERR_NETWORK_CHANGED (seen in CI on the first page.goto).
            ip([...n, 'link', 'set', NS_IFACE, 'addrgenmode', 'none']);
            ip([...n, 'link', 'set', NS_PEER_IFACE, 'addrgenmode', 'none']);
            ip([...n, 'addr', 'add', `${NS_ADDRESS}/24`, 'dev', NS_IFACE]);
            ip([...n, 'link', 'set', NS_IFACE, 'up']);
            ip([...n, 'link', 'set', NS_PEER_IFACE, 'up']);
            ip([...n, 'route', 'add', 'default', 'via', NS_GATEWAY, 'dev', NS_IFACE]);
            await ns.waitAddress();
        } catch (e) {
            removeSync(nsName);
            throw new Error(`cannot configure network namespace ${nsName}: ${e.message}`);
        }
        return ns;
    }

    // Waits until NS_ADDRESS is usable (IPv4 needs no DAD, but the link may take a moment).
    async waitAddress(timeoutMs = 5000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const out = ip(['-n', this.name, '-4', 'addr', 'show', 'dev', NS_IFACE]);
            if (out.includes(NS_ADDRESS) && !/state DOWN/.test(out)) return;
            if (Date.now() > deadline) throw new Error(`${NS_IFACE} not up: ${out}`);
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    get alive() {
        return live.has(this.name);
    }

    // The argv prefix that runs a command inside the namespace.
    prefix() {
        return [IP, 'netns', 'exec', this.name];
    }

    // child_process.spawn inside the namespace. `ip netns exec` execs the command, so the
    // child's PID is the command's own PID (signals reach it directly).
    spawn(cmd, args = [], options = {}) {
        return spawn(IP, ['netns', 'exec', this.name, cmd, ...args], options);
    }

    // Runs a command inside the namespace to completion: {code, signal, stdout, stderr}.
    exec(cmd, args = [], { timeoutMs = 10000, input } = {}) {
        return new Promise((resolve) => {
            const child = this.spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d) => (stdout += d));
            child.stderr.on('data', (d) => (stderr += d));
            const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            child.on('close', (code, signal) => {
                clearTimeout(timer);
                resolve({ code, signal, stdout, stderr });
            });
            child.on('error', (e) => {
                clearTimeout(timer);
                resolve({ code: -1, signal: null, stdout, stderr: stderr + e.message });
            });
            if (input !== undefined) child.stdin.end(input);
            else child.stdin.end();
        });
    }

    // PIDs of processes still inside the namespace (other than this one).
    pids() {
        return pidsIn(this.name);
    }

    async remove() {
        removeSync(this.name);
    }
}
