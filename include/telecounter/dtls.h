/*
 * dtls: DTLS 1.2 for DTLS-SRTP (RFC 5764) with OpenSSL, without sockets.
 *
 * A tc_dtls_ctx holds the process's certificate (ECDSA P-256, made at start-up,
 * its sha-256 fingerprint going into every answer) and the SSL_CTX; it is made
 * once and then only read, by every worker. A tc_dtls is one leg's handshake:
 * records received are fed in with tc_dtls_feed; records to send come out
 * through the send callback, one datagram per call, at most TC_DTLS_MTU bytes.
 * When the handshake ends, the peer's certificate must match the fingerprint
 * its SDP announced, or the leg fails: nothing is ever forwarded for it.
 *
 * Thread: a tc_dtls belongs to one worker. The caller runs the retransmission
 * timer: after every feed, ask tc_dtls_timeout_ms and call tc_dtls_on_timeout.
 */
#pragma once

#include "telecounter/srtp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_DTLS_MTU 1200

typedef struct tc_dtls_ctx tc_dtls_ctx;
typedef struct tc_dtls tc_dtls;

typedef enum tc_dtls_state {
    TC_DTLS_HANDSHAKING = 0,
    TC_DTLS_CONNECTED,
    TC_DTLS_FAILED,
    TC_DTLS_CLOSED,
} tc_dtls_state;

/* NULL on failure (logged). */
tc_dtls_ctx *tc_dtls_ctx_create(void);
void tc_dtls_ctx_destroy(tc_dtls_ctx *ctx);
const uint8_t *tc_dtls_ctx_fingerprint(const tc_dtls_ctx *ctx); /* 32 bytes, sha-256 */
/* Replaces the use_srtp profiles offered (client) or accepted in order (server),
 * e.g. "SRTP_AES128_CM_SHA1_80", for connections made afterwards. 0 or -EINVAL. */
int tc_dtls_ctx_set_srtp_profiles(tc_dtls_ctx *ctx, const char *profiles);

typedef void (*tc_dtls_send_fn)(void *user, const uint8_t *data, size_t len);

/* peer_fp: the sha-256 fingerprint from the peer's SDP (32 bytes). server: our
 * role in the handshake (a=setup:passive makes us the server). */
tc_dtls *tc_dtls_create(tc_dtls_ctx *ctx, const uint8_t peer_fp[32], bool server,
                        tc_dtls_send_fn send, void *user);
void tc_dtls_destroy(tc_dtls *d);

/* Starts the handshake (clients send their first flight). */
void tc_dtls_start(tc_dtls *d);
/* Feeds one received DTLS datagram; returns the state after it. */
tc_dtls_state tc_dtls_feed(tc_dtls *d, const uint8_t *p, size_t len);
tc_dtls_state tc_dtls_state_of(const tc_dtls *d);
/* Frees the OpenSSL state of a connected handshake (some 40 KiB a leg: the
 * SSL, its record buffers and the handshake buffer DTLS keeps for
 * retransmissions). Call it only once the peer has proved it holds our last
 * flight (its first authenticated SRTP packet does), so that no flight of ours
 * can be needed again. Afterwards tc_dtls_feed only looks at record headers:
 * an alert record (content type 21; post-handshake, only a closing alert)
 * means CLOSED, anything else is ignored; tc_dtls_srtp_keys fails. Does
 * nothing unless CONNECTED. */
void tc_dtls_release(tc_dtls *d);
bool tc_dtls_released(const tc_dtls *d);

/* Milliseconds until the retransmission timer fires, or -1 when none runs. */
int tc_dtls_timeout_ms(tc_dtls *d);
tc_dtls_state tc_dtls_on_timeout(tc_dtls *d);

/* After CONNECTED: the negotiated profile and the SRTP master keys and salts,
 * ours and the peer's. */
int tc_dtls_srtp_keys(tc_dtls *d, tc_srtp_profile *profile, uint8_t local[TC_SRTP_MAX_KEY_SALT],
                      uint8_t remote[TC_SRTP_MAX_KEY_SALT]);
