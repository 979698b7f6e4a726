/*
 * host.c: see host.h.
 */
#include "host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void tc_host_pin(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(pid, sizeof set, &set) != 0)
        fprintf(stderr, "bench: cannot pin %d to CPU %d: %s\n", (int)pid, cpu, strerror(errno));
}

int tc_host_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

bool tc_host_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

uint64_t tc_host_cpu_ticks(pid_t pid)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    const char *p = strrchr(text, ')'); /* comm may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
    g_free(text);
    return ut + st;
}

void tc_host_cpu_jiffies(int cpu, uint64_t *busy, uint64_t *total)
{
    char *text = NULL, key[16];
    *busy = *total = 0;
    if (!g_file_get_contents("/proc/stat", &text, NULL, NULL))
        return;
    snprintf(key, sizeof key, "\ncpu%d ", cpu);
    const char *p = strstr(text, key);
    unsigned long long v[8] = {0};
    if (p && sscanf(p + strlen(key), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                    &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        *total = *busy + v[3] + v[4];
    }
    g_free(text);
}

long tc_host_rss_kib(pid_t pid)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *p = strstr(text, "VmRSS:");
    long kib = p ? strtol(p + 6, NULL, 10) : -1;
    g_free(text);
    return kib;
}
