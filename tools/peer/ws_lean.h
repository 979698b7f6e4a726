/*
 * ws_lean: a WSS client connection that costs as little CPU as we can make it,
 * for benchmarks that must measure the server, not the client. A non-blocking
 * socket, OpenSSL, and just enough RFC 6455 for text messages; no GLib, no
 * libwebsockets. The caller owns an epoll set (level-triggered) and hands each
 * event to tc_wsl_handle (or a batch of events to wsl_reader.h); a received
 * message costs one read of the socket at most, an SSL_read and a frame
 * header, and is passed on without a further copy.
 *
 * It does not verify the server's certificate, so tc_wsl_target_parse accepts
 * only loopback hosts (127.0.0.0/8, ::1, localhost).
 *
 * Thread: the caller's, one thread for a connection and its epoll set. The
 * caller owns each connection and destroys it (never from its own callback).
 * Callbacks run only inside tc_wsl_handle.
 *
 * Frames on the wire (RFC 6455, section 5.2), client to server always masked:
 *
 *   byte 0    FIN | RSV1-3 (0) | opcode (4 bits)
 *   byte 1    MASK | length 0..125, or 126 (+2 bytes) or 127 (+8 bytes), big endian
 *   then      masking key (4 bytes, when MASK), then the payload
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

enum {
    TC_WSL_OP_CONT = 0x0,
    TC_WSL_OP_TEXT = 0x1,
    TC_WSL_OP_BINARY = 0x2,
    TC_WSL_OP_CLOSE = 0x8,
    TC_WSL_OP_PING = 0x9,
    TC_WSL_OP_PONG = 0xA,
};

/* The largest message (or frame) we take; the server's own limit is 64 KiB. */
#define TC_WSL_MSG_MAX (256 * 1024)

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[96];  /* the Host header: host[:port] as written in the url */
    char path[256]; /* with the query, "/" when the url has none */
} tc_wsl_target;

typedef struct {
    bool fin;
    uint8_t opcode;
    const uint8_t *payload; /* points into the parsed buffer */
    size_t len;
} tc_wsl_frame;

typedef struct tc_wsl tc_wsl;

typedef struct {
    /* the upgrade succeeded; tc_wsl_send may be called from here on */
    void (*on_open)(void *user);
    /* one whole text or binary message; p is borrowed for the call */
    void (*on_message)(void *user, const uint8_t *p, size_t len);
    /* the connection failed or closed; no callback after it */
    void (*on_closed)(void *user, const char *why);
} tc_wsl_events;

/* Parses wss://host[:port][/path]. 0; -EINVAL for a malformed url,
 * -EPROTONOSUPPORT for a scheme other than wss, -EPERM for a host that is not
 * loopback. */
int tc_wsl_target_parse(const char *url, tc_wsl_target *t);

/* Parses the frame at the start of p. Returns the frame's whole size, 0 when
 * p holds only part of it, -EPROTO for a frame a server must not send (masked,
 * RSV bits, unknown opcode, a fragmented or long control frame), -EMSGSIZE
 * above TC_WSL_MSG_MAX. */
ssize_t tc_wsl_frame_parse(const uint8_t *p, size_t len, tc_wsl_frame *f);

/* Writes one final, masked frame into out. Returns its size, or 0 when cap
 * (at least len + 14 is always enough) is too small. */
size_t tc_wsl_frame_write(uint8_t *out, size_t cap, uint8_t opcode, const uint8_t *payload,
                          size_t len, const uint8_t mask[4]);

/* A client context for tc_wsl_create: no certificate verification. NULL on
 * failure. The caller frees it with SSL_CTX_free after the connections. */
SSL_CTX *tc_wsl_ssl_ctx_create(void);

/* Starts a non-blocking connect to t and adds it to epfd with data.ptr set to
 * the connection. NULL (errno set) when the socket cannot be made. */
tc_wsl *tc_wsl_create(SSL_CTX *ctx, int epfd, const tc_wsl_target *t, const tc_wsl_events *ev,
                      void *user);
/* Handles the epoll events of c: connect, TLS handshake, upgrade, one read of
 * the socket (unless tc_wsl_feed gave this event's bytes), every message they
 * complete, pending writes. Does nothing after on_closed. */
void tc_wsl_handle(tc_wsl *c, uint32_t events);
/* Whether handling these events would read c's socket (tc_wsl_fd). */
bool tc_wsl_wants_read(const tc_wsl *c, uint32_t events);
int tc_wsl_fd(const tc_wsl *c);
/* Bytes read from c's socket by the caller, for the next tc_wsl_handle (which
 * then does not read it): n > 0 bytes at p (copied), 0 for end of stream,
 * -EAGAIN for none, another -errno for a read error. */
void tc_wsl_feed(tc_wsl *c, const uint8_t *p, ssize_t n);
/* Sends one text message, at once when the socket takes it. 0; -ENOTCONN
 * before on_open or after on_closed; -EMSGSIZE, -ENOMEM. A write error shows
 * as on_closed from the next tc_wsl_handle. */
int tc_wsl_send(tc_wsl *c, const char *text, size_t len);
/* Closes without a closing handshake. NULL does nothing. */
void tc_wsl_destroy(tc_wsl *c);
