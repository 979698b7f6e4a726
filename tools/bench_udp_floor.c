/*
 * bench_udp_floor: what the kernel alone charges a relay for one forwarded
 * packet on this machine, so that the relay's own figure (tc-bench_media) can
 * be read against it. A forwarder thread pinned to one CPU waits in poll(),
 * reads a datagram and sends it on, and does nothing else; a traffic thread
 * pinned to the other CPU sends paced 1,200-byte datagrams to it from several
 * sockets (like several calls) and reads them back. Prints the forwarder's
 * CPU time per packet (its thread CPU clock over the packets it forwarded).
 * All on 127.0.0.1. A benchmark: prints figures, asserts nothing.
 *
 *   tc-bench_udp_floor [--rate PKTS_PER_S] [--seconds S] [--flows N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 64
#define PACKET_LEN 1200

typedef struct flow {
    int src, relay_in, relay_out, dst; /* src -> relay_in; relay_out -> dst */
    struct sockaddr_in relay_in_addr, dst_addr;
} flow;

typedef struct bench {
    flow flows[MAX_FLOWS];
    int n_flows, rate, seconds;
    volatile bool stop;
    long forwarded;
    double forwarder_cpu_s;
} bench;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int bound_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    int buf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (addr)
        *addr = a;
    return fd;
}

static void *forwarder(void *data)
{
    bench *b = data;
    pin(0);
    struct pollfd pfd[MAX_FLOWS];
    for (int i = 0; i < b->n_flows; i++)
        pfd[i] = (struct pollfd){.fd = b->flows[i].relay_in, .events = POLLIN};
    uint8_t buf[2048];
    double cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    while (!b->stop) {
        if (poll(pfd, (nfds_t)b->n_flows, 100) <= 0)
            continue;
        for (int i = 0; i < b->n_flows; i++) {
            if (!(pfd[i].revents & POLLIN))
                continue;
            flow *f = &b->flows[i];
            ssize_t n;
            while ((n = recv(f->relay_in, buf, sizeof buf, 0)) > 0) {
                sendto(f->relay_out, buf, (size_t)n, 0, (struct sockaddr *)&f->dst_addr,
                       sizeof f->dst_addr);
                b->forwarded++;
            }
        }
    }
    b->forwarder_cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return NULL;
}

/* Paced sends round-robin over the flows; reads back whatever arrived. */
static long traffic(bench *b)
{
    pin(1);
    uint8_t pkt[PACKET_LEN], buf[2048];
    memset(pkt, 0x5a, sizeof pkt);
    long sent = 0;
    double start = clock_s(CLOCK_MONOTONIC), end = start + b->seconds;
    for (double now = start; now < end; now = clock_s(CLOCK_MONOTONIC)) {
        long due = (long)((now - start) * b->rate);
        for (; sent < due; sent++) {
            flow *f = &b->flows[sent % b->n_flows];
            sendto(f->src, pkt, sizeof pkt, 0, (struct sockaddr *)&f->relay_in_addr,
                   sizeof f->relay_in_addr);
        }
        for (int i = 0; i < b->n_flows; i++)
            while (recv(b->flows[i].dst, buf, sizeof buf, 0) > 0)
                ;
        usleep(200);
    }
    return sent;
}

int main(int argc, char **argv)
{
    bench b = {.n_flows = 40, .rate = 10000, .seconds = 10};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rate") == 0)
            b.rate = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            b.seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--flows") == 0)
            b.n_flows = atoi(argv[i + 1]);
    }
    if (b.rate < 1 || b.seconds < 1 || b.n_flows < 1 || b.n_flows > MAX_FLOWS) {
        fprintf(stderr, "usage: tc-bench_udp_floor [--rate 1..] [--seconds 1..] [--flows 1..%d]\n",
                MAX_FLOWS);
        return 2;
    }
    for (int i = 0; i < b.n_flows; i++) {
        flow *f = &b.flows[i];
        f->src = bound_socket(NULL);
        f->relay_in = bound_socket(&f->relay_in_addr);
        f->relay_out = bound_socket(NULL);
        f->dst = bound_socket(&f->dst_addr);
        if (f->src < 0 || f->relay_in < 0 || f->relay_out < 0 || f->dst < 0) {
            fprintf(stderr, "bench_udp_floor: sockets: %s\n", strerror(errno));
            return 1;
        }
    }
    pthread_t t;
    pthread_create(&t, NULL, forwarder, &b);
    long sent = traffic(&b);
    b.stop = true;
    pthread_join(t, NULL);
    printf("flows                  %d\n", b.n_flows);
    printf("packets                %ld sent, %ld forwarded (%.1f %% lost)\n", sent, b.forwarded,
           sent ? 100.0 * (double)(sent - b.forwarded) / (double)sent : 0.0);
    printf("forwarder CPU          %.2f s over %d s\n", b.forwarder_cpu_s, b.seconds);
    printf("CPU-us per packet      %.2f (poll + recv + sendto, nothing else)\n",
           b.forwarded ? b.forwarder_cpu_s * 1e6 / (double)b.forwarded : 0.0);
    return 0;
}
