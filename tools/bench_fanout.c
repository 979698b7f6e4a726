/*
 * bench_fanout: how long the server takes to tell every waiting customer that
 * the queue moved. N customers join over WSS, spread evenly over the desks
 * given (one desk, broadband, unless told); then, P times, the customer at the
 * head of a desk (each desk in turn) leaves, and the queue.update of each
 * other customer of that desk is timed from the moment the leave was sent.
 * The clients are lean (peer/ws_lean: epoll and OpenSSL, no JSON parse per
 * update; peer/wsl_reader reads each epoll batch's sockets with one io_uring
 * submission) and run on one thread; pin them to the other core with taskset,
 * so that the figure is the server's as far as it can be. A benchmark: prints figures,
 * asserts nothing, stops by itself.
 *
 *   tc-bench_fanout --url wss://127.0.0.1:PORT/ws [--customers 2000] [--probes 10]
 *                   [--desks broadband[,id_check,...]]
 *
 * The server needs limits.connections_per_address above N. Loopback only.
 */
#include "peer/ws_lean.h"
#include "peer/wsl_reader.h"

#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define HANDSHAKES_MAX 64 /* connects in flight, well inside the server's listen backlog */
#define RUN_MAX_S 120
#define EVENTS_MAX 256
#define DESKS_MAX 8

static const char leave_msg[] = "{\"type\":\"customer.leave\",\"id\":2}";
/* The server writes queue.update with printf (src/signal/protocol.c), so the
 * text is fixed: a search is enough, and it is the only per-update cost. */
static const char queue_update[] = "\"type\":\"queue.update\"";
static const char join_ok[] = "\"customer.join.ok\"";

typedef struct {
    int64_t *v;
    size_t len, cap;
} samples;

typedef struct customer {
    struct bench *b;
    tc_wsl *ws;
    int64_t session_id, position; /* from customer.join.ok */
    int heard;                    /* the last probe whose queue.update was timed */
    int desk;                     /* index into bench.desks */
    bool open, joined, gone;
} customer;

typedef struct bench {
    SSL_CTX *ssl;
    int epfd;
    tc_wsl_reader *reader; /* reads the sockets of an epoll batch with one submission */
    tc_wsl_target target;
    customer *c;
    customer **order; /* by desk, then queue position: who leaves next */
    char *join_msg[DESKS_MAX];
    int n_desks;
    int desk_start[DESKS_MAX + 1]; /* a desk's customers in order[] */
    int desk_head[DESKS_MAX];      /* how many of them have left */
    int probe_desk;                /* the desk of the current probe */
    int n, probes, started, in_flight, joined, probe;
    long strays; /* queue.updates to customers of other desks than the probe's */
    int64_t t0_us, joined_us, sent_us, waiting_for;
    samples all_us;  /* every timed queue.update */
    samples last_us; /* per probe: until the last customer heard */
    bool done;
} bench;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void push(samples *s, int64_t v)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4096;
        int64_t *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return; /* a benchmark: drop the sample rather than stop */
        s->v = p;
        s->cap = cap;
    }
    s->v[s->len++] = v;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(samples *s, double p)
{
    if (!s->len)
        return -1;
    qsort(s->v, s->len, sizeof *s->v, cmp64);
    size_t i = (size_t)(p * (double)(s->len - 1) + 0.5);
    return (double)s->v[i] / 1000.0;
}

static int cmp_position(const void *a, const void *b)
{
    const customer *x = *(customer *const *)a, *y = *(customer *const *)b;
    if (x->desk != y->desk)
        return x->desk < y->desk ? -1 : 1;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return (x > y) - (x < y);
}

/* The joins overlap, so the queue's order is not the order of connecting: the
 * server's positions say who is at the head. */
static void sort_by_position(bench *b)
{
    for (int i = 0; i < b->n; i++)
        b->order[i] = &b->c[i];
    qsort(b->order, (size_t)b->n, sizeof *b->order, cmp_position);
    for (int d = 0, i = 0; d <= b->n_desks; d++) {
        while (i < b->n && b->order[i]->desk < d)
            i++;
        b->desk_start[d] = i;
    }
}

/* The head of the next desk leaves; everybody behind it must hear of it. */
static void next_probe(bench *b)
{
    int d = b->probe % b->n_desks;
    int size = b->desk_start[d + 1] - b->desk_start[d];
    if (b->probe == b->probes || b->desk_head[d] >= size - 1) {
        b->done = true;
        return;
    }
    b->probe++;
    b->probe_desk = d;
    customer *head = b->order[b->desk_start[d] + b->desk_head[d]++];
    head->gone = true;
    b->waiting_for = size - b->desk_head[d];
    b->sent_us = now_us();
    int rc = tc_wsl_send(head->ws, leave_msg, sizeof leave_msg - 1);
    if (rc) {
        fprintf(stderr, "bench_fanout: could not send the leave: %s\n", strerror(-rc));
        b->done = true;
    }
}

static void on_queue_update(customer *c)
{
    bench *b = c->b;
    if (!b->sent_us || c->gone || c->heard == b->probe)
        return;
    if (c->desk != b->probe_desk) {
        b->strays++;
        return;
    }
    int64_t d = now_us() - b->sent_us;
    c->heard = b->probe;
    push(&b->all_us, d);
    if (--b->waiting_for == 0) {
        push(&b->last_us, d);
        next_probe(b);
    }
}

static void on_join_ok(customer *c, const uint8_t *p, size_t len)
{
    bench *b = c->b;
    json_t *msg = json_loadb((const char *)p, len, 0, NULL);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type && strcmp(type, "customer.join.ok") == 0 && !c->joined) {
        c->session_id = json_integer_value(json_object_get(msg, "session_id"));
        c->position = json_integer_value(json_object_get(msg, "position"));
        c->joined = true;
        if (++b->joined == b->n) {
            b->joined_us = now_us();
            sort_by_position(b);
            next_probe(b);
        }
    }
    json_decref(msg);
}

static void on_message(void *user, const uint8_t *p, size_t len)
{
    customer *c = user;
    if (memmem(p, len, queue_update, sizeof queue_update - 1))
        on_queue_update(c);
    else if (!c->joined && memmem(p, len, join_ok, sizeof join_ok - 1))
        on_join_ok(c, p, len);
}

static void start_more(bench *b);

static void on_open(void *user)
{
    customer *c = user;
    c->open = true;
    c->b->in_flight--;
    start_more(c->b);
    const char *join = c->b->join_msg[c->desk];
    int rc = tc_wsl_send(c->ws, join, strlen(join));
    if (rc) {
        fprintf(stderr, "bench_fanout: could not send a join: %s\n", strerror(-rc));
        c->b->done = true;
    }
}

static void on_closed(void *user, const char *why)
{
    customer *c = user;
    if (!c->open)
        c->b->in_flight--;
    if (c->gone)
        return;
    /* The probes would wait for this customer for ever: stop with what we have. */
    fprintf(stderr, "bench_fanout: a customer's connection closed: %s\n", why);
    c->b->done = true;
}

/* A few handshakes at a time: 2,000 at once would overflow the listen backlog
 * and time the kernel's SYN retries instead of the server. */
static void start_more(bench *b)
{
    static const tc_wsl_events ev = {on_open, on_message, on_closed};
    while (b->in_flight < HANDSHAKES_MAX && b->started < b->n && !b->done) {
        customer *c = &b->c[b->started];
        c->desk = b->started++ % b->n_desks;
        c->b = b;
        c->ws = tc_wsl_create(b->ssl, b->epfd, &b->target, &ev, c);
        if (!c->ws) {
            fprintf(stderr, "bench_fanout: cannot open connection %d: %s\n", b->started,
                    strerror(errno));
            b->done = true;
            return;
        }
        b->in_flight++;
    }
}

static void run(bench *b)
{
    struct epoll_event ev[EVENTS_MAX];
    int64_t deadline_us = b->t0_us + (int64_t)RUN_MAX_S * 1000000;
    start_more(b);
    while (!b->done) {
        int64_t left_ms = (deadline_us - now_us()) / 1000;
        if (left_ms <= 0) {
            fprintf(stderr, "bench_fanout: gave up waiting (joined %d of %d, probe %d)\n",
                    b->joined, b->n, b->probe);
            return;
        }
        int n = epoll_wait(b->epfd, ev, EVENTS_MAX, (int)left_ms);
        if (n < 0 && errno != EINTR) {
            perror("bench_fanout: epoll_wait");
            return;
        }
        if (n > 0)
            tc_wsl_reader_handle(b->reader, ev, n);
    }
}

/* One customer.join per desk of the comma-separated list; 0 or -EINVAL. */
static int parse_desks(bench *b, const char *list)
{
    gchar **names = g_strsplit(list, ",", -1);
    int rc = 0;
    for (int i = 0; names[i] && rc == 0; i++) {
        const char *name = names[i];
        bool plain = *name && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
        if (!plain || b->n_desks == DESKS_MAX)
            rc = -EINVAL;
        else
            b->join_msg[b->n_desks++] =
                g_strdup_printf("{\"type\":\"customer.join\",\"id\":1,\"desk\":\"%s\"}", name);
    }
    g_strfreev(names);
    return b->n_desks ? rc : -EINVAL;
}

static int parse_args(int argc, char **argv, bench *b)
{
    const char *url = NULL, *desks = "broadband";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--customers") == 0)
            b->n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--probes") == 0)
            b->probes = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--desks") == 0)
            desks = argv[i + 1];
    }
    if (!url || b->n < 2 || b->n > 20000 || b->probes < 1 || parse_desks(b, desks) != 0 ||
        b->n < 2 * b->n_desks) {
        fprintf(stderr,
                "usage: tc-bench_fanout --url wss://127.0.0.1:PORT/ws "
                "[--customers 2..20000] [--probes N] [--desks NAME[,NAME...] (at most "
                "%d)]\n",
                DESKS_MAX);
        return -EINVAL;
    }
    int rc = tc_wsl_target_parse(url, &b->target);
    if (rc == -EPERM)
        fprintf(stderr,
                "bench_fanout: %s: the host must be loopback (127.0.0.0/8, ::1 or "
                "localhost): the certificate is not verified\n",
                url);
    else if (rc)
        fprintf(stderr, "bench_fanout: %s: want wss://host:port/path\n", url);
    return rc;
}

static void report(bench *b)
{
    int64_t joined_us = b->joined_us ? b->joined_us : now_us();
    printf("customers                %d joined in %.1f s (before the first probe)\n", b->joined,
           (double)(joined_us - b->t0_us) / 1e6);
    printf("probes                   %zu of %d\n", b->last_us.len, b->probes);
    printf("each queue.update        p50 %.1f ms, p99 %.1f ms (%zu updates)\n",
           pct_ms(&b->all_us, 0.5), pct_ms(&b->all_us, 0.99), b->all_us.len);
    printf("last of each fan-out     p50 %.1f ms, max %.1f ms (%d desk%s, ~%d customers each)\n",
           pct_ms(&b->last_us, 0.5), pct_ms(&b->last_us, 1.0), b->n_desks,
           b->n_desks == 1 ? "" : "s", b->n / b->n_desks);
    if (b->strays)
        printf("updates to other desks   %ld (not timed)\n", b->strays);
}

int main(int argc, char **argv)
{
    bench b = {.n = 2000, .probes = 10, .epfd = -1};
    if (parse_args(argc, argv, &b) != 0)
        return 2;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int status = 1;
    b.ssl = tc_wsl_ssl_ctx_create();
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    b.c = calloc((size_t)b.n, sizeof *b.c);
    b.order = calloc((size_t)b.n, sizeof *b.order);
    b.reader = tc_wsl_reader_create(EVENTS_MAX);
    if (!b.ssl || b.epfd < 0 || !b.c || !b.order || !b.reader)
        goto out;
    if (!tc_wsl_reader_uses_io_uring(b.reader))
        fprintf(stderr, "bench_fanout: no io_uring; one read(2) per socket, a dearer client\n");
    b.t0_us = now_us();
    run(&b);
    report(&b);
    status = 0;
out:
    for (int i = 0; b.c && i < b.n; i++)
        tc_wsl_destroy(b.c[i].ws);
    free(b.c);
    free(b.order);
    for (int d = 0; d < b.n_desks; d++)
        g_free(b.join_msg[d]);
    free(b.all_us.v);
    free(b.last_us.v);
    tc_wsl_reader_destroy(b.reader);
    if (b.epfd >= 0)
        close(b.epfd);
    SSL_CTX_free(b.ssl);
    return status;
}
