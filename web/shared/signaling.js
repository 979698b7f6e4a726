// signaling.js: the telecounter signaling client (docs/protocol.md).
//
// One WebSocket to wss://HOST/ws carrying JSON frames. Requests get an integer id and a
// promise; the promise resolves with the `<type>.ok` reply and rejects with a SignalError
// carrying the server's stable `code` (or `disconnected` / `timeout`). Events (frames
// without an id) are dispatched as DOM events named after their type, with the message as
// `detail`. When the socket drops, it reconnects with backoff and dispatches `reconnected`;
// the page then re-binds (customer.resume / login) and renegotiates media.
//
//   const sig = new Signaling();
//   sig.on('queue.update', (m) => ...);
//   await sig.connect();
//   const ok = await sig.request('customer.join', { desk: 'broadband' });

export class SignalError extends Error {
    constructor(code, message, reply = null) {
        super(message || code);
        this.name = 'SignalError';
        this.code = code;
        this.reply = reply;
    }
}

export function defaultUrl() {
    return `${location.protocol === 'http:' ? 'ws' : 'wss'}://${location.host}/ws`;
}

export class Signaling extends EventTarget {
    constructor(url = defaultUrl(), { maxBackoffMs = 8000 } = {}) {
        super();
        this.url = url;
        this.ws = null;
        this.nextId = 1;
        this.pending = new Map(); // id -> {resolve, reject, timer, type}
        this.wanted = false; // true while the page wants a connection
        this.everOpen = false;
        this.attempt = 0;
        this.maxBackoffMs = maxBackoffMs;
        this.retryTimer = null;
        this.connected = false;
    }

    on(type, fn) {
        const h = (e) => fn(e.detail);
        this.addEventListener(type, h);
        return () => this.removeEventListener(type, h);
    }

    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    // Opens the socket; resolves on the first open. Later drops reconnect by themselves.
    connect() {
        this.wanted = true;
        this.sayGoodbyeOnLeave();
        return new Promise((resolve, reject) => {
            this.open(resolve, reject);
        });
    }

    open(resolve, reject) {
        clearTimeout(this.retryTimer);
        let ws;
        try {
            ws = new WebSocket(this.url);
        } catch (e) {
            if (reject) reject(new SignalError('disconnected', e.message));
            return;
        }
        this.ws = ws;
        let opened = false;
        ws.onopen = () => {
            opened = true;
            this.connected = true;
            const again = this.everOpen;
            this.everOpen = true;
            this.attempt = 0;
            this.emit('open', { reconnected: again });
            if (again) this.emit('reconnected', {});
            if (resolve) resolve();
        };
        ws.onmessage = (e) => this.receive(e.data);
        ws.onclose = (e) => {
            if (this.ws !== ws) return;
            this.connected = false;
            this.ws = null;
            for (const [id, p] of this.pending) {
                clearTimeout(p.timer);
                p.reject(new SignalError('disconnected', `connection closed during ${p.type}`));
                this.pending.delete(id);
            }
            this.emit('close', { code: e.code, reason: e.reason, wasOpen: opened });
            if (!opened && reject && !this.everOpen) {
                // The first attempt failed: report it, but keep trying in the background.
                reject(new SignalError('disconnected', `cannot reach ${this.url}`));
                resolve = null;
                reject = null;
            }
            if (this.wanted) this.scheduleRetry(resolve, reject);
        };
    }

    scheduleRetry(resolve, reject) {
        const base = Math.min(this.maxBackoffMs, 500 * 2 ** this.attempt);
        this.attempt++;
        const delay = base / 2 + Math.random() * (base / 2);
        this.emit('retrying', { inMs: Math.round(delay), attempt: this.attempt });
        this.retryTimer = setTimeout(() => this.open(resolve, reject), delay);
    }

    // Reconnects now (e.g. the browser came back online).
    retryNow() {
        if (this.wanted && !this.ws) this.open();
    }

    receive(data) {
        let msg;
        try {
            msg = JSON.parse(data);
        } catch {
            return;
        }
        if (!msg || typeof msg !== 'object') return;
        if (msg.id !== undefined && msg.id !== null && this.pending.has(msg.id)) {
            const p = this.pending.get(msg.id);
            this.pending.delete(msg.id);
            clearTimeout(p.timer);
            if (msg.type === 'error') p.reject(new SignalError(msg.code || 'internal', msg.message, msg));
            else p.resolve(msg);
            return;
        }
        if (msg.type === 'error') {
            this.emit('server-error', msg);
            return;
        }
        this.emit('message', msg);
        if (msg.type) this.emit(msg.type, msg);
    }

    request(type, fields = {}, { timeoutMs = 15000 } = {}) {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
            return Promise.reject(new SignalError('disconnected', `not connected (${type})`));
        }
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new SignalError('timeout', `no reply to ${type}`));
            }, timeoutMs);
            this.pending.set(id, { resolve, reject, timer, type });
            this.ws.send(JSON.stringify({ ...fields, type, id }));
        });
    }

    // A page that goes away (tab closed, reload, navigation) closes its socket with a close
    // frame. Without it the server may not learn of it for a long time: over HTTP/2 the socket
    // is one stream of a connection the browser keeps for other pages, and the stream's reset
    // alone does not end the WebSocket there. A page restored from the back/forward cache
    // connects again (and the page resumes on 'reconnected').
    sayGoodbyeOnLeave() {
        if (this.leaveHooked || typeof window === 'undefined') return;
        this.leaveHooked = true;
        window.addEventListener('pagehide', () => {
            this.left = this.wanted;
            this.close();
        });
        window.addEventListener('pageshow', (e) => {
            if (!e.persisted || !this.left) return;
            this.left = false;
            this.wanted = true;
            this.open();
        });
    }

    // Stops for good (no reconnect).
    close() {
        this.wanted = false;
        clearTimeout(this.retryTimer);
        if (this.ws) {
            const ws = this.ws;
            this.ws = null;
            this.connected = false;
            ws.close(1000);
        }
    }
}
