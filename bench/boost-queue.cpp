// SPDX-License-Identifier: MIT
//
// Boost.Interprocess's message_queue, measured as bench/queue.c measures
// its contenders: one producer process and one consumer process pinned to
// two CPUs, 64-byte and 4 KiB messages (200000 and 50000, a quarter with
// --quick), ns per message from the first send to the last receive, the
// median of --runs runs (default 7) and their range.  bench/run.sh builds
// it where a C++ compiler and the Boost headers are, and merges its CSV
// rows (contender "boost-mq") with the others.  The queue holds 1 MiB of
// messages, as the rings of bench/queue.c do.
//
//   boost-queue [--runs N] [--quick] [--csv FILE]
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <boost/interprocess/ipc/message_queue.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bip = boost::interprocess;

static unsigned long long now_ns()
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

// ns per message, or -1.
static double run_once(const char *name, size_t size, long n)
{
    std::vector<char> buf(size, 0x5a);
    int ready[2];

    bip::message_queue::remove(name);
    try {
        bip::message_queue mq(bip::create_only, name, (1u << 20) / size, size);
        if (pipe(ready) != 0)
            return -1;
        std::fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            pin(1);
            bip::message_queue in(bip::open_only, name);
            std::vector<char> b(size);
            bip::message_queue::size_type got;
            unsigned prio;
            if (write(ready[1], "r", 1) != 1)
                _exit(3);
            for (long i = 0; i < n; i++)
                in.receive(b.data(), size, got, prio);
            _exit(0);
        }
        pin(0);
        char c;
        if (read(ready[0], &c, 1) != 1)
            return -1;
        unsigned long long t0 = now_ns();
        for (long i = 0; i < n; i++)
            mq.send(buf.data(), size, 0);
        int st;
        waitpid(pid, &st, 0);
        double ns = (double)(now_ns() - t0) / (double)n;
        close(ready[0]);
        close(ready[1]);
        bip::message_queue::remove(name);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? ns : -1;
    } catch (const bip::interprocess_exception &e) {
        std::fprintf(stderr, "boost-queue: %s\n", e.what());
        bip::message_queue::remove(name);
        return -1;
    }
}

int main(int argc, char **argv)
{
    int runs = 7;
    bool quick = false;
    std::string csv_path = "-";

    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if ((a == "--runs" || a == "--csv") && i + 1 < argc) {
            std::string v = argv[++i];
            if (a == "--runs")
                runs = std::atoi(v.c_str());
            else
                csv_path = v;
        } else if (a == "--quick") {
            quick = true;
        } else {
            std::fprintf(stderr, "usage: boost-queue [--runs N] [--quick] [--csv FILE]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    char name[64];
    std::snprintf(name, sizeof name, "ushm-bench-boost-queue-%ld", (long)getpid());
    std::FILE *csv = csv_path == "-" ? nullptr : std::fopen(csv_path.c_str(), "w");
    if (csv != nullptr)
        std::fprintf(csv, "operation,backend,contender,size_bytes,run,iterations,"
                          "ns_per_op,cpu_ns_per_op,status,note\n");
    std::printf("boost-queue: boost::interprocess::message_queue, ns per message "
                "(median of %d runs, [min, max])\n", runs);
    int status = 0;
    for (size_t size : { (size_t)64, (size_t)4096 }) {
        long n = size == 64 ? 200000 : 50000;
        if (quick)
            n /= 4;
        std::vector<double> v;
        for (int r = 0; r < runs; r++) {
            double ns = run_once(name, size, n);
            if (ns < 0) {
                status = 1;
                break;
            }
            v.push_back(ns);
            if (csv != nullptr)
                std::fprintf(csv, "tput-%zu,boost,boost-mq,%zu,%d,%ld,%.1f,-1.0,ok,\"queue\"\n",
                             size, size, r + 1, n, ns);
        }
        if (v.empty())
            continue;
        std::sort(v.begin(), v.end());
        double med = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
        std::printf("boost-mq       tput-%-5zu %8.0f [%.0f, %.0f]\n", size, med, v.front(), v.back());
    }
    if (csv != nullptr)
        std::fclose(csv);
    return status;
}
