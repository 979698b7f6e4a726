/*
 * config: telecounter's configuration, read once at start-up from an INI file
 * (GLib's GKeyFile syntax) and then immutable. Every key, its default and its
 * meaning are documented in telecounter.conf.example at the top of the tree;
 * keep the two in step. Secrets may come from the environment instead of the
 * file (TC_INVITE_KEY). Control thread; the struct is plain data that media
 * workers may read after start-up.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TC_MAX_DESKS 16
#define TC_DESK_NAME_MAX 32

typedef enum tc_assignment {
    TC_ASSIGN_LONGEST_IDLE = 0,
    TC_ASSIGN_RANDOM = 1,
} tc_assignment;

typedef struct tc_config {
    /* [server] */
    char address[64];           /* address to listen on */
    int port;                   /* HTTPS and WSS port */
    char public_url[256];       /* origin customers see, used in invite links */
    char tls_cert[512];         /* PEM certificate chain */
    char tls_key[512];          /* PEM private key */
    char web_root[512];         /* static files */
    char allowed_origins[1024]; /* comma-separated; empty = public_url only */
    bool io_uring;              /* send WebSocket output with io_uring when it can */
    /* [log] */
    int log_level; /* tc_log_level */
    /* [store] */
    char db_path[512];
    /* [routing] */
    char desks[TC_MAX_DESKS][TC_DESK_NAME_MAX];
    int desk_count;
    tc_assignment assignment;
    int ring_timeout_s;
    int after_call_work_s;
    int resume_window_s;
    int max_offers;     /* rings a customer may miss before the session ends missed; 0 = no limit */
    int max_wait_s;     /* queued this long, the session ends missed; 0 = no limit */
    int login_failures; /* failed logins per address in login_window_s (an account: twice) */
    int login_window_s;
    int login_queue;             /* password checks waiting at most, for untrusted tries */
    int sessions_per_address;    /* open customer sessions per client address */
    int joins_per_minute;        /* customer sessions started per client address a minute */
    int wait_estimate_default_s; /* used until a desk has handle times */
    /* [invites] */
    int invite_validity_s;
    int invite_max_validity_s;
    int invite_max_attempts;     /* failed attempts that burn a code */
    int invite_address_failures; /* failures per address ... */
    int invite_address_window_s; /* ... within this window before throttling */
    char invite_key_hex[65];     /* 32-byte key, hex; empty = kept in the database */
    /* [limits] */
    int max_message_bytes;
    int messages_per_s; /* sustained per connection */
    int message_burst;  /* bucket size */
    int connections_per_address;
    int idle_timeout_s;
    int auth_token_ttl_s; /* login tokens for the HTTP API */
    /* [ops] */
    int service_level_s;   /* "answered within" threshold for the service level */
    char ops_timezone[64]; /* IANA name for the operator's days; empty = the host's zone */
    /* [media] */
    int media_workers;             /* 0 = one per core */
    char media_interfaces[256];    /* comma-separated interface names; empty = all but loopback */
    bool media_loopback;           /* also gather on 127.0.0.1 (tests) */
    char media_public_address[64]; /* advertised for 1:1 NAT; empty = none */
    int media_port_min, media_port_max; /* UDP port range; 0 = any */
    bool media_ice_tcp;                 /* passive ICE-TCP candidates */
    char media_audio_codecs[128];       /* preference order */
    char media_video_codecs[128];
    int media_max_bitrate_bps; /* REMB forwarded to senders is capped here */
    int media_grace_s;         /* a leg whose ICE failed or consent expired ends after this */
    int media_nack_buffer_kib; /* per outgoing video stream, for answering NACKs */
    bool media_hold_audio;     /* play hold audio to queued customers */
} tc_config;

/* Fills cfg with every default. */
void tc_config_defaults(tc_config *cfg);

/*
 * Reads path (NULL = defaults only) over the defaults, then the environment.
 * On failure returns -EINVAL and writes every error into err, one line each
 * ("group.key: why"), joined with '\n'. Unknown groups and keys are errors
 * (with a "did you mean" for near misses); server.address must be an IP literal.
 * A file that cannot be read or parsed gives -EBADMSG (err names the file).
 */
int tc_config_load(tc_config *cfg, const char *path, char *err, size_t err_len);

/*
 * Checks what a loaded configuration names on disk: server.tls_cert and
 * server.tls_key readable files, server.web_root a readable directory, the
 * folder of store.path existing. Errors as tc_config_load (every one, a line
 * each); -EINVAL if any. The server checks these at --check-config and at start.
 */
int tc_config_check_files(const tc_config *cfg, char *err, size_t err_len);

/* Index of desk in cfg->desks, or -1. */
int tc_config_desk_index(const tc_config *cfg, const char *desk);
