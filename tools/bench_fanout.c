/*
 * bench_fanout: how long the server takes to tell every waiting customer that
 * the queue moved. N customers join one desk over WSS; then, P times, the
 * customer at the head leaves, and each other customer's queue.update is timed
 * from the moment the leave was sent. C clients on one GLib loop (pin them to
 * the other core with taskset), so that the figure is the server's more than
 * the clients'. A benchmark: prints figures, asserts nothing, stops by itself.
 *
 *   tc-bench_fanout --url wss://127.0.0.1:PORT/ws [--customers 2000] [--probes 10]
 *
 * The server needs limits.connections_per_address above N. Loopback only.
 */
#include "peer/signal_client.h"

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct customer {
    struct bench *b;
    tc_sigclient *sc;
    int64_t session_id;
    bool joined, gone;
} customer;

typedef struct bench {
    GMainLoop *loop;
    customer *c;
    int n, probes, joined, probe, head;
    int64_t sent_us, waiting_for;
    GArray *lat_us;  /* this probe's per-customer latencies */
    GArray *last_us; /* per probe: until the last customer heard */
    GArray *all_us;
    guint timeout;
} bench;

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(GArray *a, double p)
{
    if (!a->len)
        return -1;
    qsort(a->data, a->len, sizeof(int64_t), cmp64);
    size_t i = (size_t)(p * (double)(a->len - 1) + 0.5);
    return (double)g_array_index(a, int64_t, i) / 1000.0;
}

static void next_probe(bench *b);

static void on_message(void *user, json_t *msg)
{
    customer *c = user;
    bench *b = c->b;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type)
        return;
    if (strcmp(type, "customer.join.ok") == 0) {
        c->session_id = json_integer_value(json_object_get(msg, "session_id"));
        c->joined = true;
        if (++b->joined == b->n)
            next_probe(b);
    } else if (strcmp(type, "queue.update") == 0 && b->sent_us && !c->gone) {
        int64_t d = g_get_monotonic_time() - b->sent_us;
        g_array_append_val(b->lat_us, d);
        g_array_append_val(b->all_us, d);
        if (--b->waiting_for == 0) {
            g_array_append_val(b->last_us, d);
            next_probe(b);
        }
    }
}

static void on_open(void *user)
{
    customer *c = user;
    tc_sigclient_send(
        c->sc, json_pack("{s:s, s:i, s:s}", "type", "customer.join", "id", 1, "desk", "broadband"));
}

static void on_closed(void *user, const char *why)
{
    customer *c = user;
    if (!c->gone)
        fprintf(stderr, "bench_fanout: a customer's connection closed: %s\n", why);
}

/* The head leaves; everybody behind it must hear of it. */
static void next_probe(bench *b)
{
    g_array_set_size(b->lat_us, 0);
    if (b->probe == b->probes || b->head >= b->n - 1) {
        g_main_loop_quit(b->loop);
        return;
    }
    b->probe++;
    customer *head = &b->c[b->head++];
    head->gone = true;
    b->waiting_for = b->n - b->head;
    b->sent_us = g_get_monotonic_time();
    tc_sigclient_send(head->sc, json_pack("{s:s, s:i}", "type", "customer.leave", "id", 2));
}

static gboolean on_timeout(gpointer data)
{
    bench *b = data;
    fprintf(stderr, "bench_fanout: gave up waiting (joined %d of %d, probe %d)\n", b->joined, b->n,
            b->probe);
    g_main_loop_quit(b->loop);
    b->timeout = 0;
    return G_SOURCE_REMOVE;
}

static struct lws_context *client_context(GMainLoop *loop)
{
    void *foreign_loops[1] = {loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = tc_sigclient_protocols();
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_GLIB;
    info.foreign_loops = foreign_loops;
    lws_set_log_level(LLL_ERR, NULL);
    return lws_create_context(&info);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    bench b = {.n = 2000, .probes = 10};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--customers") == 0)
            b.n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--probes") == 0)
            b.probes = atoi(argv[i + 1]);
    }
    if (!url || b.n < 2 || b.n > 20000 || b.probes < 1) {
        fprintf(stderr, "usage: tc-bench_fanout --url wss://127.0.0.1:PORT/ws "
                        "[--customers 2..20000] [--probes N]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    b.loop = g_main_loop_new(NULL, FALSE);
    struct lws_context *lws = client_context(b.loop);
    if (!lws)
        return 1;
    b.c = g_new0(customer, b.n);
    b.lat_us = g_array_new(FALSE, FALSE, sizeof(int64_t));
    b.last_us = g_array_new(FALSE, FALSE, sizeof(int64_t));
    b.all_us = g_array_new(FALSE, FALSE, sizeof(int64_t));
    static const tc_sigclient_events ev = {on_open, on_message, on_closed};
    int64_t t0 = g_get_monotonic_time();
    for (int i = 0; i < b.n; i++) {
        b.c[i].b = &b;
        b.c[i].sc = tc_sigclient_create(lws, url, &ev, &b.c[i]);
    }
    b.timeout = g_timeout_add_seconds(120, on_timeout, &b);
    g_main_loop_run(b.loop);
    printf("customers                %d joined in %.1f s (before the first probe)\n", b.joined,
           (double)(g_get_monotonic_time() - t0) / 1e6);
    printf("probes                   %u of %d\n", b.last_us->len, b.probes);
    printf("each queue.update        p50 %.1f ms, p99 %.1f ms (%u updates)\n",
           pct_ms(b.all_us, 0.5), pct_ms(b.all_us, 0.99), b.all_us->len);
    printf("last of each fan-out     p50 %.1f ms, max %.1f ms\n", pct_ms(b.last_us, 0.5),
           pct_ms(b.last_us, 1.0));
    if (b.timeout)
        g_source_remove(b.timeout);
    for (int i = 0; i < b.n; i++)
        tc_sigclient_destroy(b.c[i].sc);
    lws_context_destroy(lws);
    return 0;
}
