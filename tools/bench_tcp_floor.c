/*
 * bench_tcp_floor: what the kernel alone charges for a queue fan-out on this
 * machine: one small write to each of N loopback TCP connections, with a
 * write(2) each or with io_uring (one submission per batch of sends), read on
 * the other CPU with epoll and a read(2) each or with io_uring (one
 * submission per epoll batch). The reason src/signal/send_batch.c and
 * tools/peer/wsl_reader.c exist; read the server's figure (tc-bench_fanout)
 * against it. No TLS, no WebSocket: bytes only.
 *
 * Prints, per way of writing and reading: the writer's CPU per write (its
 * thread CPU clock) and how long until the reader had every byte of a round.
 * All on 127.0.0.1. A benchmark: prints figures, asserts nothing.
 *
 *   tc-bench_tcp_floor [--connections N] [--rounds R] [--bytes B]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64       /* sends per io_uring submission, as in send_batch.c */
#define EVENTS_MAX 256 /* as in bench_fanout.c */
#define READ_SLOT 16384

typedef struct bench {
    int n, rounds, bytes;
    int *writer_fd, *reader_fd;
    volatile bool read_with_ring;
    volatile bool stop;
    volatile long received; /* bytes, by the reader */
} bench;

static double thread_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Reads every ready socket once per epoll batch: a read(2) each, or one
 * io_uring submission for the batch. */
static void *reader(void *arg)
{
    bench *b = arg;
    pin(1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < b->n; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, b->reader_fd[i], &e);
    }
    struct io_uring ring;
    bool ring_ok = io_uring_queue_init(EVENTS_MAX, &ring, 0) == 0;
    uint8_t *slots = malloc((size_t)EVENTS_MAX * READ_SLOT);
    struct epoll_event ev[EVENTS_MAX];
    while (!b->stop && slots) {
        int n = epoll_wait(ep, ev, EVENTS_MAX, 50);
        long got = 0;
        if (n > 0 && b->read_with_ring && ring_ok) {
            for (int i = 0; i < n; i++) {
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_recv(sqe, b->reader_fd[ev[i].data.u32], slots + (size_t)i * READ_SLOT,
                                   READ_SLOT, MSG_DONTWAIT);
            }
            io_uring_submit_and_wait(&ring, (unsigned)n);
            struct io_uring_cqe *cqe;
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&ring, head, cqe)
            {
                got += cqe->res > 0 ? cqe->res : 0;
                seen++;
            }
            io_uring_cq_advance(&ring, seen);
        } else {
            for (int i = 0; i < n; i++) {
                ssize_t r = read(b->reader_fd[ev[i].data.u32], slots, READ_SLOT);
                got += r > 0 ? r : 0;
            }
        }
        __atomic_add_fetch(&b->received, got, __ATOMIC_RELAXED);
    }
    if (ring_ok)
        io_uring_queue_exit(&ring);
    free(slots);
    close(ep);
    return NULL;
}

static void write_each(bench *b, const uint8_t *msg)
{
    for (int i = 0; i < b->n; i++)
        if (write(b->writer_fd[i], msg, (size_t)b->bytes) != b->bytes)
            fprintf(stderr, "bench_tcp_floor: a short write\n");
}

static void write_by_ring(bench *b, struct io_uring *ring, const uint8_t *msg)
{
    for (int i = 0; i < b->n;) {
        unsigned queued = 0;
        for (; i < b->n && queued < BATCH; i++, queued++)
            io_uring_prep_send(io_uring_get_sqe(ring), b->writer_fd[i], msg, (size_t)b->bytes,
                               MSG_DONTWAIT | MSG_NOSIGNAL);
        io_uring_submit_and_wait(ring, queued);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(ring, head, cqe)
        {
            if (cqe->res != b->bytes)
                fprintf(stderr, "bench_tcp_floor: a short send (%d)\n", cqe->res);
            seen++;
        }
        io_uring_cq_advance(ring, seen);
    }
}

/* rounds of one write to every connection; prints the figures. */
static void measure(bench *b, bool write_with_ring, bool read_with_ring)
{
    struct io_uring ring;
    if (write_with_ring && io_uring_queue_init(BATCH, &ring, 0) != 0) {
        printf("io_uring unavailable: no io_uring figures\n");
        return;
    }
    b->read_with_ring = read_with_ring;
    uint8_t msg[4096];
    memset(msg, 'x', sizeof msg);
    double cpu_s = 0, delivered_s = 0;
    for (int r = 0; r < b->rounds; r++) {
        usleep(20000); /* the reader waits in epoll, as between fan-outs */
        long want = b->received + (long)b->n * b->bytes;
        double c0 = thread_cpu_s(), t0 = now_s();
        if (write_with_ring)
            write_by_ring(b, &ring, msg);
        else
            write_each(b, msg);
        cpu_s += thread_cpu_s() - c0;
        while (__atomic_load_n(&b->received, __ATOMIC_RELAXED) < want)
            ;
        delivered_s += now_s() - t0;
    }
    if (write_with_ring)
        io_uring_queue_exit(&ring);
    printf("write %-8s read %-8s  writer %5.2f us CPU a write; all read after %6.2f ms\n",
           write_with_ring ? "io_uring" : "write(2)", read_with_ring ? "io_uring" : "read(2)",
           cpu_s / b->rounds / b->n * 1e6, delivered_s / b->rounds * 1e3);
}

static int connect_pairs(bench *b)
{
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(listener, (struct sockaddr *)&a, &len) != 0 || listen(listener, 4096) != 0)
        return -errno;
    int one = 1;
    for (int i = 0; i < b->n; i++) {
        b->reader_fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (b->reader_fd[i] < 0 || connect(b->reader_fd[i], (struct sockaddr *)&a, sizeof a) != 0)
            return -errno;
        b->writer_fd[i] = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (b->writer_fd[i] < 0)
            return -errno;
        setsockopt(b->writer_fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    close(listener);
    return 0;
}

static int parse_args(int argc, char **argv, bench *b)
{
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--connections") == 0 && has_value)
            b->n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && has_value)
            b->rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bytes") == 0 && has_value)
            b->bytes = atoi(argv[++i]);
        else
            return -EINVAL;
    }
    return b->n >= 1 && b->n <= 100000 && b->rounds >= 1 && b->bytes >= 1 && b->bytes <= 4096
               ? 0
               : -EINVAL;
}

int main(int argc, char **argv)
{
    bench b = {.n = 2000, .rounds = 50, .bytes = 130}; /* a queue.update's TLS record */
    if (parse_args(argc, argv, &b) != 0) {
        fprintf(stderr, "usage: tc-bench_tcp_floor [--connections 1-100000] [--rounds R] "
                        "[--bytes 1-4096]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    b.writer_fd = calloc((size_t)b.n, sizeof *b.writer_fd);
    b.reader_fd = calloc((size_t)b.n, sizeof *b.reader_fd);
    int rc = b.writer_fd && b.reader_fd ? connect_pairs(&b) : -ENOMEM;
    if (rc != 0) {
        fprintf(stderr, "bench_tcp_floor: cannot make %d connections: %s\n", b.n, strerror(-rc));
        return 1;
    }
    printf("%d loopback connections, %d bytes each, %d rounds; writer on CPU 0, reader on "
           "CPU 1\n",
           b.n, b.bytes, b.rounds);
    pin(0);
    pthread_t thread;
    pthread_create(&thread, NULL, reader, &b);
    measure(&b, false, false);
    measure(&b, true, false);
    measure(&b, false, true);
    measure(&b, true, true);
    b.stop = true;
    pthread_join(thread, NULL);
    for (int i = 0; i < b.n; i++) {
        close(b.writer_fd[i]);
        close(b.reader_fd[i]);
    }
    free(b.writer_fd);
    free(b.reader_fd);
    return 0;
}
