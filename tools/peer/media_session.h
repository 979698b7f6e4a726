/*
 * media_session: one peer connection of the test peer. ICE (libnice, on
 * loopback only), DTLS (tc_dtls), SRTP (tc_srtp) over one BUNDLEd,
 * rtcp-muxed component; an Opus tone and synthetic VP8-shaped video out;
 * measurement of what comes in. An offerer is the ICE controlling agent and
 * the DTLS client (it offers actpass and the relay answers passive); an
 * answerer (only the self-test needs one) is controlled and the DTLS server.
 *
 * Thread: the GMainContext given at create; callbacks run from it. The
 * session owns everything it creates; the caller owns it.
 */
#pragma once

#include "peer.h"
#include "telecounter/dtls.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct tc_msession tc_msession;

typedef struct {
    /* a local candidate to trickle ("candidate:..."), or "" at the end */
    void (*on_candidate)(void *user, const char *candidate);
    /* DTLS connected and SRTP keyed: media flows from now on */
    void (*on_connected)(void *user);
    /* ICE or DTLS failed; the session stays, inert */
    void (*on_failed)(void *user, const char *why);
} tc_msession_events;

typedef struct {
    const char *name;          /* for log lines */
    unsigned tone_hz;          /* what we send */
    unsigned video_kbps;       /* 0: no video sent */
    unsigned pli_interval_ms;  /* 0: never send PLI */
    const char *local_address; /* ICE gathers only here (loopback) */
    bool cuttable;             /* route ICE through a cutbox (tc_msession_set_cut) */
    tc_peer_faults faults;     /* fault scenarios (faults.h); zero: none */
    const char *video_codec;   /* offered for video: "VP8" (NULL) or "H264" */
} tc_msession_config;

/* NULL on failure (logged). dtls_ctx is shared and must outlive the session. */
tc_msession *tc_msession_create(GMainContext *ctx, tc_dtls_ctx *dtls_ctx,
                                const tc_msession_config *cfg, const tc_msession_events *ev,
                                void *user);
void tc_msession_destroy(tc_msession *s);

/* Writes our offer (NUL-terminated). Returns its length or a negative errno.
 * Starts gathering; local candidates are held until release_candidates. */
int tc_msession_create_offer(tc_msession *s, char *buf, size_t cap);
/* Applies the answer to our offer. 0, -EINVAL (unparsable or unusable). */
int tc_msession_set_answer(tc_msession *s, const char *sdp, size_t len);
/* Answerer side: takes an offer, writes the answer. Length or negative errno. */
int tc_msession_answer_offer(tc_msession *s, const char *offer, size_t len, char *buf, size_t cap);
/* From now on local candidates go to on_candidate (held ones first). */
void tc_msession_release_candidates(tc_msession *s);
/* A remote candidate as trickled ("candidate:..."; "" ends them). Candidates
 * that are not UDP, component 1 and loopback are ignored. 0 or -EINVAL. */
int tc_msession_add_remote_candidate(tc_msession *s, const char *candidate);

/* Turns frequency estimation of the received audio on (the customer does it
 * when answered: what came before was hold audio). */
void tc_msession_set_analyze(tc_msession *s, bool on);
void tc_msession_stats(const tc_msession *s, tc_peer_media_stats *out);

/* ---- reconnect scenarios --------------------------------------------------- */

/* A cuttable session only: drop every datagram both ways (STUN too) or not. */
void tc_msession_set_cut(tc_msession *s, bool cut);
/* An ICE restart: new local ICE credentials, the same certificate; writes the
 * new offer. The answer goes to tc_msession_set_answer as usual, which keeps
 * DTLS and SRTP; then tc_msession_resend_candidates. Length or negative errno. */
int tc_msession_restart_offer(tc_msession *s, char *buf, size_t cap);
/* An ICE restart offer awaits its answer. */
bool tc_msession_restarting(const tc_msession *s);
/* A renegotiation: a new offer with the same ICE credentials (no restart).
 * Its answer goes to tc_msession_set_answer, which keeps ICE, DTLS, SRTP and
 * the remote credentials of the first answer, as a browser does. */
int tc_msession_reoffer(tc_msession *s, char *buf, size_t cap);
bool tc_msession_reoffering(const tc_msession *s);
/* After a re-offer's answer: 1 if it repeated the first answer's ICE ufrag
 * and pwd, 0 if not, -1 before. */
int tc_msession_reoffer_same_ice(const tc_msession *s);
/* Trickles every local candidate again, then the end of candidates. */
void tc_msession_resend_candidates(tc_msession *s);
/* Empties the latency histogram. */
void tc_msession_reset_latency(tc_msession *s);
