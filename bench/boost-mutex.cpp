/* SPDX-License-Identifier: MIT */
/*
 * boost-mutex: uncontended lock + unlock of Boost.Interprocess's
 * interprocess_mutex, beside libushm's ushm_mutex_t and a raw robust
 * process-shared error-checking pthread mutex, all three in one anonymous
 * libushm segment, each on a cache line of its own.
 *
 * The C benchmark (ushm-bench.c) cannot include Boost, so this small C++
 * program measures the three the same way: batches sized so that one lasts
 * --target-ms on the raw mutex, the contenders interleaved round by round
 * after a warm-up round that is not kept, the median of --runs rounds.
 * bench/run.sh compiles it with the C++ compiler it finds and links it with
 * the convenience library of the build; make does not build it.
 *
 * It writes its boost rows to the CSV of ushm-bench (the raw and libushm
 * rows of the merged file come from ushm-bench's own mutex operation); its
 * own three medians and their ratios are printed.
 */
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/version.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <pthread.h>
#include <time.h>

#include <ushm.h>

namespace {

using boost::interprocess::interprocess_mutex;

struct area {
    alignas(64) ushm_mutex_t lib;
    alignas(64) pthread_mutex_t raw;
    alignas(64) unsigned char boost_bytes[sizeof(interprocess_mutex)];
};

area *shared;
interprocess_mutex *bmutex;

double now_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Each returns 0, or -1 after saying why on stderr. */
int lib_batch(long n)
{
    for (long i = 0; i < n; i++) {
        int err = ushm_mutex_lock(&shared->lib);

        if (err == 0)
            err = ushm_mutex_unlock(&shared->lib);
        if (err != 0) {
            std::fprintf(stderr, "boost-mutex: ushm_mutex_*: %d: %s\n", err,
                         ushm_last_error());
            return -1;
        }
    }
    return 0;
}

int raw_batch(long n)
{
    for (long i = 0; i < n; i++) {
        int err = pthread_mutex_lock(&shared->raw);

        if (err == 0)
            err = pthread_mutex_unlock(&shared->raw);
        if (err != 0) {
            std::fprintf(stderr, "boost-mutex: pthread_mutex_*: %s\n",
                         std::strerror(err));
            return -1;
        }
    }
    return 0;
}

int boost_batch(long n)
{
    try {
        for (long i = 0; i < n; i++) {
            bmutex->lock();
            bmutex->unlock();
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "boost-mutex: interprocess_mutex: %s\n",
                     e.what());
        return -1;
    }
    return 0;
}

struct contender {
    const char *name;
    int (*batch)(long);
    std::vector<double> ns, cpu;
};

double median(std::vector<double> v)
{
    size_t n = v.size();

    if (n == 0)
        return 0;
    std::sort(v.begin(), v.end());
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void usage(std::FILE *f)
{
    std::fprintf(f, "usage: boost-mutex [--runs N] [--quick] [--target-ms MS] "
                    "[--csv FILE]\n");
}

} // namespace

int main(int argc, char **argv)
{
    int runs = 0, quick = 0;
    double target_ms = 40;
    std::string csv_path = "-";

    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];

        if ((a == "--runs" || a == "--target-ms" || a == "--csv") &&
            i + 1 < argc) {
            std::string v = argv[++i];

            if (a == "--runs")
                runs = std::atoi(v.c_str());
            else if (a == "--target-ms")
                target_ms = std::atof(v.c_str());
            else
                csv_path = v;
        } else if (a == "--quick") {
            quick = 1;
        } else if (a == "--help") {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (runs == 0)
        runs = quick ? 3 : 7;
    if (runs < 1 || runs > 1000 || target_ms <= 0) {
        usage(stderr);
        return 2;
    }
    if (quick && target_ms == 40)
        target_ms = 10;

    ushm_t *shm;
    int err = ushm_open(&shm, NULL, sizeof(area), USHM_CREATE, 0600);

    if (err < 0) {
        std::fprintf(stderr, "boost-mutex: %s\n", ushm_last_error());
        return 1;
    }
    shared = static_cast<area *>(ushm_addr(shm));

    pthread_mutexattr_t attr;
    if ((err = pthread_mutexattr_init(&attr)) != 0 ||
        (err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) != 0 ||
        (err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) != 0 ||
        (err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK)) != 0 ||
        (err = pthread_mutex_init(&shared->raw, &attr)) != 0) {
        std::fprintf(stderr, "boost-mutex: robust process-shared mutex: %s\n",
                     std::strerror(err));
        return 1;
    }
    pthread_mutexattr_destroy(&attr);
    bmutex = new (shared->boost_bytes) interprocess_mutex;

    contender c[] = {
        { "raw", raw_batch, {}, {} },
        { "libushm", lib_batch, {}, {} },
        { "boost", boost_batch, {}, {} },
    };
    const int nc = 3;

    /* Size the batch on the raw mutex. */
    long iters = 64;
    for (;;) {
        double t0 = now_ns(CLOCK_MONOTONIC);

        if (raw_batch(iters) < 0)
            return 1;
        double dt = now_ns(CLOCK_MONOTONIC) - t0;
        if (dt >= 5e6 || iters >= (1L << 24)) {
            iters = std::max(16L, (long)(target_ms * 1e6 / (dt / iters)));
            break;
        }
        iters *= 4;
    }

    for (int r = -1; r < runs; r++)
        for (int i = 0; i < nc; i++) {
            double c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
            double t0 = now_ns(CLOCK_MONOTONIC);

            if (c[i].batch(iters) < 0)
                return 1;
            double dt = now_ns(CLOCK_MONOTONIC) - t0;
            double dc = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
            if (r >= 0) {
                c[i].ns.push_back(dt / (double)iters);
                c[i].cpu.push_back(dc / (double)iters);
            }
        }

    const char *backend = ushm_backend();
    std::printf("boost-mutex: Boost %d.%d.%d interprocess_mutex (%s), "
                "libushm %s backend %s, %d runs of %ld lock + unlock, "
                "interleaved\n", BOOST_VERSION / 100000,
                BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100,
#if defined(BOOST_INTERPROCESS_FORCE_GENERIC_EMULATION) || \
    !defined(BOOST_INTERPROCESS_POSIX_PROCESS_SHARED)
                "spin-lock emulation",
#else
                "a process-shared pthread mutex, neither robust nor "
                "error-checking",
#endif
                ushm_version(), backend, runs, iters);
    std::printf("\n%-11s %-7s %-10s %10s %10s %10s %8s\n", "operation",
                "backend", "contender", "median", "min", "max", "vs raw");
    double raw_med = median(c[0].ns);
    for (int i = 0; i < nc; i++) {
        std::printf("%-11s %-7s %-10s %7.1f ns %7.1f ns %7.1f ns   %5.3fx\n",
                    "mutex", backend, c[i].name, median(c[i].ns),
                    *std::min_element(c[i].ns.begin(), c[i].ns.end()),
                    *std::max_element(c[i].ns.begin(), c[i].ns.end()),
                    median(c[i].ns) / raw_med);
    }
    std::printf("  libushm / boost = %.3fx (CPU time %.3fx); boost / raw = "
                "%.3fx\n", median(c[1].ns) / median(c[2].ns),
                median(c[1].cpu) / median(c[2].cpu), median(c[2].ns) / raw_med);

    if (csv_path != "-") {
        std::FILE *f = std::fopen(csv_path.c_str(), "w");

        if (f == NULL) {
            std::fprintf(stderr, "boost-mutex: %s: %s\n", csv_path.c_str(),
                         std::strerror(errno));
            return 1;
        }
        std::fputs("operation,backend,contender,size_bytes,run,iterations,"
                   "ns_per_op,cpu_ns_per_op,status,note\n", f);
        for (size_t r = 0; r < c[2].ns.size(); r++)
            std::fprintf(f, "mutex,%s,boost,%zu,%zu,%ld,%.1f,%.1f,ok,\"\"\n",
                         backend, sizeof(interprocess_mutex), r + 1, iters,
                         c[2].ns[r], c[2].cpu[r]);
        if (std::fclose(f) != 0) {
            std::fprintf(stderr, "boost-mutex: %s: %s\n", csv_path.c_str(),
                         std::strerror(errno));
            return 1;
        }
    }
    bmutex->~interprocess_mutex();
    pthread_mutex_destroy(&shared->raw);
    ushm_close(shm);
    return 0;
}
