/*
 * loop_epoll.c: a GLib poll function backed by epoll (see loop.h).
 *
 * GLib hands the poll function its whole descriptor array on every iteration.
 * This one keeps an epoll set that mirrors that array: descriptors new to the
 * array are added, those whose events changed are modified, those gone are
 * deleted, and then one epoll_wait reports only the ready ones, so a wake-up
 * costs O(ready) in the kernel instead of O(descriptors).
 *
 * The one thing a mirror cannot see is a descriptor number that was closed and
 * reused between two calls: the kernel drops a closed file from the epoll set
 * on its own, and the array looks the same as before. So the owner of the
 * context calls tc_loop_epoll_resync() whenever it may have created
 * descriptors in the context (a media worker: whenever it makes a leg), and
 * the next call rebuilds the set from scratch; or tc_loop_epoll_forget(fd)
 * for one descriptor it knows (the control thread: each accepted connection).
 *
 * State is per thread (freed when the thread ends): a context's poll function
 * runs on the thread that iterates it, and each thread that uses this iterates
 * one context.
 */
#include "telecounter/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct fd_slot {
    unsigned gen;        /* the call that last listed this descriptor */
    int first, last;     /* its entries in that call's array, chained by next[] */
    unsigned short want; /* the union of their events */
    unsigned short registered_events;
    bool registered;   /* in the epoll set */
    bool not_pollable; /* epoll refused it (a regular file): always ready */
} fd_slot;

typedef struct epoll_state {
    int epfd;
    bool stale;
    unsigned gen;
    fd_slot *slots; /* indexed by descriptor */
    int n_slots;
    int *listed; /* descriptors in the set or not pollable */
    int n_listed, cap_listed;
    int n_not_pollable; /* of the listed */
    int *next;          /* per array entry: the next entry with the same descriptor */
    guint cap_next;
    struct epoll_event *events;
    int cap_events;
} epoll_state;

static void state_free(gpointer p)
{
    epoll_state *s = p;
    if (s->epfd >= 0)
        close(s->epfd);
    free(s->slots);
    free(s->listed);
    free(s->next);
    free(s->events);
    free(s);
}

/* Freed when its thread exits. */
static GPrivate state_key = G_PRIVATE_INIT(state_free);

/* Makes *p hold at least need elements (new ones zeroed). */
static bool grow(void **p, size_t elem, int *cap, int need)
{
    if (need <= *cap)
        return true;
    int n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return false;
    memset(q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *p = q;
    *cap = n;
    return true;
}

static void forget_all(epoll_state *s)
{
    if (s->epfd >= 0)
        close(s->epfd);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < s->n_listed; i++) {
        fd_slot *sl = &s->slots[s->listed[i]];
        sl->registered = sl->not_pollable = false;
    }
    s->n_listed = 0;
    s->n_not_pollable = 0;
    s->stale = false;
}

void tc_loop_epoll_resync(void)
{
    epoll_state *s = g_private_get(&state_key);
    if (s)
        s->stale = true;
}

void tc_loop_epoll_forget(int fd)
{
    epoll_state *s = g_private_get(&state_key);
    if (!s || fd < 0 || fd >= s->n_slots)
        return;
    fd_slot *sl = &s->slots[fd];
    if (!sl->registered && !sl->not_pollable)
        return;
    /* The kernel dropped the old file from the set when it was closed; the
     * next call adds the new one. */
    s->n_not_pollable -= sl->not_pollable;
    sl->registered = sl->not_pollable = false;
    for (int k = 0; k < s->n_listed; k++) {
        if (s->listed[k] == fd) {
            s->listed[k] = s->listed[--s->n_listed];
            break;
        }
    }
}

/* Indexes this call's entries by descriptor; false when out of memory. */
static bool index_entries(epoll_state *s, GPollFD *fds, guint nfds)
{
    int cap = (int)s->cap_next;
    if (!grow((void **)&s->next, sizeof *s->next, &cap, (int)nfds))
        return false;
    s->cap_next = (guint)cap;
    for (guint i = 0; i < nfds; i++) {
        int fd = fds[i].fd;
        fds[i].revents = 0;
        s->next[i] = -1;
        if (fd < 0)
            continue;
        if (!grow((void **)&s->slots, sizeof *s->slots, &s->n_slots, fd + 1))
            return false;
        fd_slot *sl = &s->slots[fd];
        if (sl->gen != s->gen) {
            sl->gen = s->gen;
            sl->first = sl->last = (int)i;
            sl->want = fds[i].events;
        } else {
            s->next[sl->last] = (int)i;
            sl->last = (int)i;
            sl->want |= fds[i].events;
        }
    }
    return true;
}

static void add_listed(epoll_state *s, int fd)
{
    if (grow((void **)&s->listed, sizeof *s->listed, &s->cap_listed, s->n_listed + 1))
        s->listed[s->n_listed++] = fd;
}

/* Brings the epoll set in line with this call's entries. */
static void sync_set(epoll_state *s, GPollFD *fds, guint nfds)
{
    for (guint i = 0; i < nfds; i++) {
        int fd = fds[i].fd;
        if (fd < 0 || s->slots[fd].first != (int)i)
            continue;
        fd_slot *sl = &s->slots[fd];
        struct epoll_event ev = {.events = sl->want, .data.fd = fd};
        if (sl->not_pollable || (sl->registered && sl->registered_events == sl->want))
            continue;
        int op = sl->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        int rc = epoll_ctl(s->epfd, op, fd, &ev);
        if (rc != 0 && errno == ENOENT)
            rc = epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
        else if (rc != 0 && errno == EEXIST)
            rc = epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
        if (rc == 0) {
            if (!sl->registered)
                add_listed(s, fd);
            sl->registered = true;
            sl->registered_events = sl->want;
        } else if (errno == EPERM) {
            sl->not_pollable = true; /* poll() calls a regular file always ready */
            s->n_not_pollable++;
            add_listed(s, fd);
        }
    }
    for (int k = 0; k < s->n_listed;) {
        int fd = s->listed[k];
        fd_slot *sl = &s->slots[fd];
        if (sl->gen == s->gen) {
            k++;
            continue;
        }
        if (sl->registered)
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails if it was closed: fine */
        s->n_not_pollable -= sl->not_pollable;
        sl->registered = sl->not_pollable = false;
        s->listed[k] = s->listed[--s->n_listed];
    }
}

/* Sets revents on every entry of fd; returns how many entries got some. */
static int report(epoll_state *s, GPollFD *fds, int fd, unsigned events)
{
    int n = 0;
    for (int i = s->slots[fd].first; i >= 0; i = s->next[i]) {
        fds[i].revents = (gushort)(events & (fds[i].events | G_IO_ERR | G_IO_HUP | G_IO_NVAL));
        n += fds[i].revents != 0;
    }
    return n;
}

static epoll_state *state_get(void)
{
    epoll_state *s = g_private_get(&state_key);
    if (!s && (s = calloc(1, sizeof *s)) != NULL) {
        s->epfd = -1;
        s->stale = true;
        g_private_set(&state_key, s);
    }
    return s;
}

gint tc_loop_epoll_poll(GPollFD *fds, guint nfds, gint timeout)
{
    epoll_state *s = state_get();
    if (!s)
        return g_poll(fds, nfds, timeout);
    if (s->stale)
        forget_all(s);
    s->gen++;
    if (s->epfd < 0 || !index_entries(s, fds, nfds))
        return g_poll(fds, nfds, timeout);
    sync_set(s, fds, nfds);
    bool any_always = s->n_not_pollable > 0;
    if (!grow((void **)&s->events, sizeof *s->events, &s->cap_events, s->n_listed + 1))
        return g_poll(fds, nfds, timeout);
    int n = epoll_wait(s->epfd, s->events, s->cap_events, any_always ? 0 : timeout);
    if (n < 0)
        return -1; /* errno from epoll_wait, EINTR included, as poll would */
    int ready = 0;
    for (int k = 0; k < n; k++) {
        int fd = s->events[k].data.fd;
        if (fd < s->n_slots && s->slots[fd].gen == s->gen)
            ready += report(s, fds, fd, s->events[k].events);
    }
    for (int k = 0; k < s->n_listed && any_always; k++)
        if (s->slots[s->listed[k]].not_pollable)
            ready += report(s, fds, s->listed[k], G_IO_IN | G_IO_OUT);
    return ready;
}
