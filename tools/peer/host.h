/*
 * host: what the benchmarks need of the machine they run on: pinning a
 * process to a CPU, a free loopback port, whether a loopback port accepts,
 * and figures from /proc (a process's CPU ticks and resident memory, a CPU's
 * busy and total jiffies). Linux only; any thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Pins pid to cpu; says so on stderr when it cannot. */
void tc_host_pin(pid_t pid, int cpu);
/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int tc_host_free_port(void);
/* True when something accepts on 127.0.0.1:port. */
bool tc_host_port_open(int port);
/* utime + stime of pid, in clock ticks; 0 if unreadable. */
uint64_t tc_host_cpu_ticks(pid_t pid);
/* Busy and total jiffies of one CPU from /proc/stat (0 and 0 if unreadable). */
void tc_host_cpu_jiffies(int cpu, uint64_t *busy, uint64_t *total);
/* VmRSS of pid in KiB, or -1. */
long tc_host_rss_kib(pid_t pid);
