/*
 * ws_lean.c: the connection's life is a line of states, TCP connect -> TLS
 * handshake -> HTTP upgrade -> open -> closed, and tc_wsl_handle simply tries
 * every step that its state allows on each event; with level-triggered epoll
 * a step that would block is tried again on the next event.
 *
 * Reading: OpenSSL reads from a memory BIO, never from the socket. An event
 * that says the socket is readable gets one read(2) of up to READ_CHUNK bytes
 * into that BIO (or the bytes someone read for us, tc_wsl_feed: wsl_reader
 * reads many sockets with one io_uring submission); then SSL_read runs until
 * the BIO is empty. Anything left in the kernel is reported again by
 * level-triggered epoll. So a message costs one system call at most, and none
 * that would only return EAGAIN.
 */
#include "ws_lean.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HEADER_MAX 4096     /* the server's 101 response */
#define READ_CHUNK 16384    /* a TLS record's plaintext at most */
#define OUT_MAX (64 * 1024) /* we send joins, leaves and pongs */

enum wsl_state { WSL_TCP, WSL_TLS, WSL_UPGRADE, WSL_OPEN, WSL_CLOSED };

/* A bounded byte buffer: refuses to grow past its limit. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} wsl_buf;

struct tc_wsl {
    int fd, epfd;
    SSL *ssl;
    enum wsl_state state;
    uint32_t armed;  /* the events epoll watches for us */
    bool want_write; /* the last OpenSSL call would block on writing */
    const char *why; /* set when a step failed; closes on return to handle */
    tc_wsl_events ev;
    void *user;
    char key[32]; /* Sec-WebSocket-Key: base64 of 16 random bytes */
    wsl_buf rx;   /* received plaintext not yet consumed */
    wsl_buf out;  /* plaintext not yet taken by SSL_write, from out_off */
    size_t out_off;
    wsl_buf msg; /* a fragmented message being joined */
    bool in_msg;
    BIO *rbio; /* received TLS bytes not yet taken by OpenSSL (owned by ssl) */
    bool fed;  /* this event's bytes came by tc_wsl_feed */
    bool eof;  /* the server closed its side */
};

static int buf_reserve(wsl_buf *b, size_t extra, size_t max)
{
    if (b->cap - b->len >= extra)
        return 0;
    if (b->len + extra > max)
        return -EMSGSIZE;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    if (cap > max)
        cap = max;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* ---- url ------------------------------------------------------------------ */

static int loopback_addr(const char *host, uint16_t port, tc_wsl_target *t)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;
    memset(&t->addr, 0, sizeof t->addr);
    if (strcasecmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
            return -EPERM;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        t->addr_len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
            return -EPERM;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        t->addr_len = sizeof *v6;
        return 0;
    }
    return -EPERM; /* a name we will not resolve */
}

int tc_wsl_target_parse(const char *url, tc_wsl_target *t)
{
    static const char scheme[] = "wss://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return strstr(url, "://") ? -EPROTONOSUPPORT : -EINVAL;
    const char *authority = url + sizeof scheme - 1;
    size_t alen = strcspn(authority, "/?#");
    const char *path = authority[alen] == '/' ? authority + alen : "/";
    if (alen == 0 || alen >= sizeof t->host || strlen(path) >= sizeof t->path)
        return -EINVAL;
    memcpy(t->host, authority, alen);
    t->host[alen] = '\0';
    snprintf(t->path, sizeof t->path, "%s", path);

    char host[sizeof t->host];
    const char *port_s = NULL;
    if (t->host[0] == '[') { /* [v6]:port */
        const char *end = strchr(t->host, ']');
        if (!end || (end[1] != '\0' && end[1] != ':'))
            return -EINVAL;
        snprintf(host, sizeof host, "%.*s", (int)(end - t->host - 1), t->host + 1);
        port_s = end[1] == ':' ? end + 2 : NULL;
    } else {
        const char *colon = strchr(t->host, ':');
        snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - t->host) : (int)alen, t->host);
        port_s = colon ? colon + 1 : NULL;
    }
    long port = 443;
    if (port_s) {
        char *end;
        port = strtol(port_s, &end, 10);
        if (end == port_s || *end != '\0' || port < 1 || port > 65535)
            return -EINVAL;
    }
    return loopback_addr(host, (uint16_t)port, t);
}

/* ---- frames --------------------------------------------------------------- */

ssize_t tc_wsl_frame_parse(const uint8_t *p, size_t len, tc_wsl_frame *f)
{
    if (len < 2)
        return 0;
    uint8_t op = p[0] & 0x0F;
    bool control = op & 0x08;
    if ((p[0] & 0x70) || (p[1] & 0x80)) /* RSV bits, or a masked server frame */
        return -EPROTO;
    if (op != TC_WSL_OP_CONT && op != TC_WSL_OP_TEXT && op != TC_WSL_OP_BINARY &&
        op != TC_WSL_OP_CLOSE && op != TC_WSL_OP_PING && op != TC_WSL_OP_PONG)
        return -EPROTO;
    size_t head = 2;
    uint64_t n = p[1] & 0x7F;
    if (n == 126) {
        head = 4;
        if (len < head)
            return 0;
        n = (uint64_t)p[2] << 8 | p[3];
    } else if (n == 127) {
        head = 10;
        if (len < head)
            return 0;
        n = 0;
        for (int i = 2; i < 10; i++)
            n = n << 8 | p[i];
    }
    if (control && (!(p[0] & 0x80) || n > 125))
        return -EPROTO;
    if (n > TC_WSL_MSG_MAX)
        return -EMSGSIZE;
    if (len - head < n)
        return 0;
    f->fin = p[0] & 0x80;
    f->opcode = op;
    f->payload = p + head;
    f->len = (size_t)n;
    return (ssize_t)(head + n);
}

size_t tc_wsl_frame_write(uint8_t *out, size_t cap, uint8_t opcode, const uint8_t *payload,
                          size_t len, const uint8_t mask[4])
{
    size_t head = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
    if (cap < head + 4 + len)
        return 0;
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(out + head, mask, 4);
    uint8_t *body = out + head + 4;
    for (size_t i = 0; i < len; i++)
        body[i] = payload[i] ^ mask[i & 3];
    return head + 4 + len;
}

/* ---- the connection ----------------------------------------------------------- */

SSL_CTX *tc_wsl_ssl_ctx_create(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    /* Loopback to our own self-signed server: nothing to verify against. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* OpenSSL reads from a memory BIO (see the top of the file): read-ahead
     * only lets it take all that is there in one BIO read, not two a record. */
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

static void rearm(tc_wsl *c)
{
    bool out = c->state == WSL_TCP || c->want_write || c->why ||
               (c->state >= WSL_UPGRADE && c->out_off < c->out.len);
    uint32_t want = EPOLLIN | (out ? EPOLLOUT : 0);
    if (want == c->armed)
        return;
    struct epoll_event e = {.events = want, .data.ptr = c};
    if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->armed = want;
}

/* Stops, then tells the user; the memory stays until tc_wsl_destroy. */
static void close_now(tc_wsl *c, const char *why)
{
    c->state = WSL_CLOSED;
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    if (c->ev.on_closed)
        c->ev.on_closed(c->user, why);
}

/* A failed OpenSSL call: 0 if it would only block, else -EIO with c->why set. */
static int ssl_blocked(tc_wsl *c, int ret, const char *what)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return 0;
    case SSL_ERROR_WANT_WRITE:
        c->want_write = true;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        c->why = "the server closed the TLS session";
        return -EIO;
    default:
        c->why = what;
        return -EIO;
    }
}

static int queue_request(tc_wsl *c, const tc_wsl_target *t)
{
    uint8_t nonce[16];
    if (RAND_bytes(nonce, sizeof nonce) != 1)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)c->key, nonce, sizeof nonce);
    int rc = buf_reserve(&c->out, 512 + strlen(t->host) + strlen(t->path), OUT_MAX);
    if (rc)
        return rc;
    int n = snprintf((char *)c->out.p, c->out.cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     t->path, t->host, c->key);
    if (n < 0 || (size_t)n >= c->out.cap)
        return -EMSGSIZE;
    c->out.len = (size_t)n;
    return 0;
}

tc_wsl *tc_wsl_create(SSL_CTX *ctx, int epfd, const tc_wsl_target *t, const tc_wsl_events *ev,
                      void *user)
{
    tc_wsl *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->epfd = epfd;
    c->ev = *ev;
    c->user = user;
    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&t->addr, t->addr_len) < 0 && errno != EINPROGRESS)
        goto fail;
    c->ssl = SSL_new(ctx);
    BIO *wbio = c->ssl ? BIO_new_socket(c->fd, BIO_NOCLOSE) : NULL;
    c->rbio = wbio ? BIO_new(BIO_s_mem()) : NULL;
    if (!c->rbio) {
        BIO_free(wbio);
        errno = EIO;
        goto fail;
    }
    SSL_set_bio(c->ssl, c->rbio, wbio);
    if (queue_request(c, t) != 0) {
        errno = EIO;
        goto fail;
    }
    SSL_set_connect_state(c->ssl);
    c->armed = EPOLLIN | EPOLLOUT;
    struct epoll_event e = {.events = c->armed, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &e) < 0)
        goto fail;
    return c;
fail:;
    int err = errno;
    tc_wsl_destroy(c);
    errno = err;
    return NULL;
}

void tc_wsl_destroy(tc_wsl *c)
{
    if (!c)
        return;
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c->rx.p);
    free(c->out.p);
    free(c->msg.p);
    free(c);
}

static int flush(tc_wsl *c)
{
    while (c->out_off < c->out.len) {
        int n = SSL_write(c->ssl, c->out.p + c->out_off, (int)(c->out.len - c->out_off));
        if (n <= 0)
            return ssl_blocked(c, n, "TLS write failed");
        c->out_off += (size_t)n;
    }
    c->out_off = c->out.len = 0;
    return 0;
}

static int send_frame(tc_wsl *c, uint8_t opcode, const uint8_t *payload, size_t len)
{
    int rc = buf_reserve(&c->out, len + 14, OUT_MAX);
    if (rc)
        return rc;
    uint8_t mask[4];
    if (RAND_bytes(mask, sizeof mask) != 1)
        return -EIO;
    c->out.len += tc_wsl_frame_write(c->out.p + c->out.len, c->out.cap - c->out.len, opcode,
                                     payload, len, mask);
    return flush(c);
}

int tc_wsl_send(tc_wsl *c, const char *text, size_t len)
{
    if (c->state != WSL_OPEN || c->why)
        return -ENOTCONN;
    if (len > TC_WSL_MSG_MAX)
        return -EMSGSIZE;
    int rc = send_frame(c, TC_WSL_OP_TEXT, (const uint8_t *)text, len);
    if (rc == -EIO)
        rearm(c); /* c->why is set: the next tc_wsl_handle reports it */
    return rc;
}

/* ---- receiving ---------------------------------------------------------------- */

static int check_upgrade(tc_wsl *c, const char *head)
{
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        c->why = "the server refused the WebSocket upgrade";
        return -EPROTO;
    }
    char src[64], want[32];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int n = snprintf(src, sizeof src, "%s%s", c->key, WS_GUID);
    if (EVP_Digest(src, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)want, md, (int)mdlen);
    const char *h = strcasestr(head, "\r\nSec-WebSocket-Accept:");
    if (h) {
        h += strlen("\r\nSec-WebSocket-Accept:");
        h += strspn(h, " \t");
    }
    if (!h || strncmp(h, want, strlen(want)) != 0 || !strchr("\r \t", h[strlen(want)])) {
        c->why = "wrong Sec-WebSocket-Accept from the server";
        return -EPROTO;
    }
    return 0;
}

/* The 101 response, once it is all in c->rx; any bytes after it are frames. */
static int take_upgrade(tc_wsl *c)
{
    uint8_t *end = memmem(c->rx.p, c->rx.len, "\r\n\r\n", 4);
    if (!end) {
        if (c->rx.len < HEADER_MAX)
            return 0;
        c->why = "the server's upgrade response is too long";
        return -EPROTO;
    }
    size_t hlen = (size_t)(end - c->rx.p) + 4;
    char head[HEADER_MAX + 4];
    if (hlen >= sizeof head) {
        c->why = "the server's upgrade response is too long";
        return -EPROTO;
    }
    memcpy(head, c->rx.p, hlen);
    head[hlen] = '\0';
    int rc = check_upgrade(c, head);
    if (rc)
        return rc;
    memmove(c->rx.p, c->rx.p + hlen, c->rx.len - hlen);
    c->rx.len -= hlen;
    c->state = WSL_OPEN;
    if (c->ev.on_open)
        c->ev.on_open(c->user);
    return 0;
}

static int on_data_frame(tc_wsl *c, const tc_wsl_frame *f)
{
    if (f->opcode != TC_WSL_OP_CONT && c->in_msg) {
        c->why = "a new message inside a fragmented one";
        return -EPROTO;
    }
    if (f->opcode == TC_WSL_OP_CONT && !c->in_msg) {
        c->why = "a continuation frame outside a message";
        return -EPROTO;
    }
    if (f->fin && !c->in_msg) { /* the common case: no copy */
        if (c->ev.on_message)
            c->ev.on_message(c->user, f->payload, f->len);
        return 0;
    }
    if (buf_reserve(&c->msg, f->len, TC_WSL_MSG_MAX) != 0) {
        c->why = "a fragmented message too long";
        return -EMSGSIZE;
    }
    memcpy(c->msg.p + c->msg.len, f->payload, f->len);
    c->msg.len += f->len;
    c->in_msg = !f->fin;
    if (f->fin) {
        if (c->ev.on_message)
            c->ev.on_message(c->user, c->msg.p, c->msg.len);
        c->msg.len = 0;
    }
    return 0;
}

static int on_frame(tc_wsl *c, const tc_wsl_frame *f)
{
    switch (f->opcode) {
    case TC_WSL_OP_PING:
        return send_frame(c, TC_WSL_OP_PONG, f->payload, f->len);
    case TC_WSL_OP_PONG:
        return 0;
    case TC_WSL_OP_CLOSE:
        /* Echo the status code, then stop: a benchmark has no use for the rest. */
        send_frame(c, TC_WSL_OP_CLOSE, f->payload, f->len < 2 ? f->len : 2);
        c->why = "the server sent a close frame";
        return -ECONNRESET;
    default:
        return on_data_frame(c, f);
    }
}

static int take_frames(tc_wsl *c)
{
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && c->state == WSL_OPEN) {
        tc_wsl_frame f;
        ssize_t n = tc_wsl_frame_parse(c->rx.p + off, c->rx.len - off, &f);
        if (n == 0)
            break;
        if (n < 0) {
            c->why = "a malformed frame from the server";
            rc = (int)n;
            break;
        }
        off += (size_t)n;
        rc = on_frame(c, &f);
    }
    memmove(c->rx.p, c->rx.p + off, c->rx.len - off);
    c->rx.len -= off;
    return rc;
}

static int read_all(tc_wsl *c)
{
    for (;;) {
        if (buf_reserve(&c->rx, READ_CHUNK, TC_WSL_MSG_MAX + HEADER_MAX + READ_CHUNK) != 0) {
            c->why = "a frame too long";
            return -EMSGSIZE;
        }
        int n = SSL_read(c->ssl, c->rx.p + c->rx.len, (int)(c->rx.cap - c->rx.len));
        if (n <= 0)
            return ssl_blocked(c, n, "TLS read failed");
        c->rx.len += (size_t)n;
        int rc = c->state == WSL_UPGRADE ? take_upgrade(c) : 0;
        if (rc == 0 && c->state == WSL_OPEN)
            rc = take_frames(c);
        if (rc)
            return rc;
    }
}

/* Bytes read from the socket, by us or for us: n > 0 bytes at p, 0 for the
 * server's end of stream, -EAGAIN for none, another -errno for an error. */
static void take_bytes(tc_wsl *c, const uint8_t *p, ssize_t n)
{
    if (n > 0 && BIO_write(c->rbio, p, (int)n) != (int)n)
        c->why = "out of memory for received bytes";
    else if (n == 0)
        c->eof = true;
    else if (n < 0 && n != -EAGAIN && n != -EWOULDBLOCK && n != -EINTR)
        c->why = "reading the socket failed";
}

static void read_socket(tc_wsl *c)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = read(c->fd, buf, sizeof buf);
    take_bytes(c, buf, n >= 0 ? n : -errno);
}

bool tc_wsl_wants_read(const tc_wsl *c, uint32_t events)
{
    return c->state > WSL_TCP && c->state < WSL_CLOSED && !c->eof && !c->why &&
           (events & (EPOLLIN | EPOLLHUP | EPOLLERR));
}

int tc_wsl_fd(const tc_wsl *c)
{
    return c->fd;
}

void tc_wsl_feed(tc_wsl *c, const uint8_t *p, ssize_t n)
{
    if (c->state == WSL_CLOSED)
        return;
    take_bytes(c, p, n);
    c->fed = true;
}

static int finish_connect(tc_wsl *c, uint32_t events)
{
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        return 0;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        c->why = "connect failed";
        return -err;
    }
    c->state = WSL_TLS;
    return 0;
}

static int handshake(tc_wsl *c)
{
    int n = SSL_do_handshake(c->ssl);
    if (n != 1)
        return ssl_blocked(c, n, "TLS handshake failed");
    c->state = WSL_UPGRADE; /* the request is already queued */
    return 0;
}

void tc_wsl_handle(tc_wsl *c, uint32_t events)
{
    if (c->state == WSL_CLOSED)
        return;
    c->want_write = false;
    if (!c->fed && tc_wsl_wants_read(c, events))
        read_socket(c);
    c->fed = false;
    int rc = c->why ? -EIO : 0;
    if (rc == 0 && c->state == WSL_TCP)
        rc = finish_connect(c, events);
    if (rc == 0 && c->state == WSL_TLS)
        rc = handshake(c);
    if (rc == 0 && c->state >= WSL_UPGRADE)
        rc = flush(c);
    if (rc == 0 && c->state >= WSL_UPGRADE)
        rc = read_all(c);
    if (rc == 0 && c->state >= WSL_UPGRADE && c->out_off < c->out.len)
        rc = flush(c); /* a write that waited for a read */
    if (rc == 0 && c->eof) {
        c->why = "the server closed the connection";
        rc = -ECONNRESET;
    }
    if (rc)
        close_now(c, c->why ? c->why : "connection error");
    else
        rearm(c);
}
