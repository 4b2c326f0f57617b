/*
 * Copyright (c) 2026 The netdev-vhostx developers.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at:
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/* A driver for the unit suite: runs the dpdkvhostx validation functions on
 * the command line's arguments, with no DPDK and no ovs-vswitchd.
 *
 *   test-vhostx check-name NAME
 *   test-vhostx sock-dir RUNDIR [VALUE]
 *   test-vhostx n-mbufs [VALUE]
 *   test-vhostx sock-path DIR NAME
 *   test-vhostx options NAME SOCK_DIR [KEY=VALUE]...
 *   test-vhostx policer-ingress MAX_FRAME KBPS KB KPPS KPKTS
 *   test-vhostx policer-qos MAX_FRAME [KEY=VALUE]...
 *
 * Prints the result, or "error: " and the message, which exits 1.
 *
 *   test-vhostx policer-sim BPS BYTES PPS PKTS LENS OFFERED_PPS SECONDS
 *
 * Offers frames whose lengths cycle through the comma-separated LENS, in
 * batches of 32, at OFFERED_PPS, to a policer of BPS bytes/s (burst BYTES)
 * and PPS packets/s (burst PKTS) on a simulated 2 GHz clock for SECONDS,
 * and prints what it admitted: in all, in the first batch (the initial
 * burst) and per second over the second half (the steady rate).
 *
 *   test-vhostx policer-threads THREADS PPS SECONDS [spinlock]
 *
 * Runs THREADS threads that offer 32-frame batches as fast as they can to
 * one shared policer of PPS packets/s on the real clock, and prints the
 * aggregate admitted count against the ideal one and the cost per batch.
 * The burst is 200 ms worth, so that a thread that the kernel deschedules
 * for less than that on a busy machine loses nothing.
 * With "spinlock", the threads share a token bucket behind a spinlock
 * instead, the design upstream OVS uses, for comparison. */

#include <config.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "netdev-vhostx/vhostx-private.h"
#include "openvswitch/dynamic-string.h"
#include "ovs-thread.h"
#include "smap.h"
#include "util.h"

/* Prints 'error', or else 'result', and frees both (either may be NULL
 * but not both). */
static int
report(char *error, char *result)
{
    if (error) {
        printf("error: %s\n", error);
        free(error);
        free(result);
        return 1;
    }
    printf("%s\n", result);
    free(result);
    return 0;
}

/* Parses "KEY=VALUE" arguments into 'args'. */
static void
parse_key_values(int argc, char *argv[], struct smap *args)
{
    for (int i = 0; i < argc; i++) {
        char *key = xstrdup(argv[i]);
        char *value = strchr(key, '=');

        if (!value) {
            ovs_fatal(0, "%s: not KEY=VALUE", argv[i]);
        }
        *value++ = '\0';
        smap_replace(args, key, value);
        free(key);
    }
}

static int
report_policer_cfg(char *error, const struct vhostx_policer_cfg *cfg)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    if (!error) {
        vhostx_policer_cfg_format(cfg, &s);
    }
    return report(error, ds_steal_cstr(&s));
}

static uint64_t
parse_u64(const char *s)
{
    return strtoull(s, NULL, 10);
}

static int
policer_sim(char *argv[])
{
    const uint64_t hz = UINT64_C(2000000000);
    struct vhostx_policer_cfg cfg = {
        .byte_rate = parse_u64(argv[0]), .byte_burst = parse_u64(argv[1]),
        .pkt_rate = parse_u64(argv[2]), .pkt_burst = parse_u64(argv[3]),
    };
    double offered_pps = atof(argv[5]);
    double seconds = atof(argv[6]);
    uint32_t lens[32], pattern[64];
    uint64_t admitted = 0, admitted_bytes = 0, first = 0, offered = 0;
    uint64_t late = 0, late_bytes = 0;
    size_t n_pattern = 0;
    struct vhostx_policer *p;
    char *save = NULL;

    for (char *tok = strtok_r(argv[4], ",", &save); tok && n_pattern < 64;
         tok = strtok_r(NULL, ",", &save)) {
        pattern[n_pattern++] = atoi(tok);
    }
    p = vhostx_policer_create(&cfg, hz);

    /* Start well after 0, as a TSC does. */
    double step = 32.0 * hz / offered_pps;
    double t0 = 1e12;
    uint64_t n_batches = seconds * offered_pps / 32;

    for (uint64_t b = 0; b < n_batches; b++) {
        uint64_t now = t0 + b * step;
        uint32_t mask;

        for (int i = 0; i < 32; i++) {
            lens[i] = pattern[(offered + i) % n_pattern];
        }
        mask = vhostx_policer_admit(p, now, lens, 32);
        for (int i = 0; i < 32; i++) {
            if (mask & (UINT32_C(1) << i)) {
                uint32_t bytes = lens[i] > 14 ? lens[i] - 14 : 0;

                admitted++;
                admitted_bytes += bytes;
                if (b >= n_batches / 2) {
                    late++;
                    late_bytes += bytes;
                }
            }
        }
        if (!b) {
            first = admitted;
        }
        offered += 32;
    }
    vhostx_policer_destroy(p);

    /* The rate over the second half, once the initial burst is spent. */
    double half = (n_batches - n_batches / 2) * step / hz;
    printf("offered %"PRIu64" admitted %"PRIu64" first-batch %"PRIu64"\n"
           "steady-pps %.1f steady-Bps %.1f\n", offered, admitted, first,
           late / half, late_bytes / half);
    return 0;
}

/* A token bucket behind a spinlock, as upstream OVS polices a port: the
 * baseline that policer-threads compares with. */
struct locked_bucket {
    struct ovs_spin lock;
    double tokens;
    double rate;                /* Tokens per nanosecond. */
    double burst;
    uint64_t last;
};

struct policer_thread {
    pthread_t thread;
    struct vhostx_policer *policer;
    struct locked_bucket *bucket;
    uint64_t end;
    uint64_t admitted;
    uint64_t batches;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * UINT64_C(1000000000) + ts.tv_nsec;
}

static void *
policer_thread_main(void *t_)
{
    struct policer_thread *t = t_;
    uint32_t lens[32];

    for (int i = 0; i < 32; i++) {
        lens[i] = 64;
    }
    for (;;) {
        uint64_t now = now_ns();

        if (now >= t->end) {
            break;
        }
        if (t->policer) {
            uint32_t mask = vhostx_policer_admit(t->policer, now, lens, 32);

            t->admitted += __builtin_popcount(mask);
        } else {
            struct locked_bucket *b = t->bucket;

            ovs_spin_lock(&b->lock);
            if (now > b->last) {
                b->tokens = MIN(b->burst,
                                b->tokens + (now - b->last) * b->rate);
                b->last = now;
            }
            for (int i = 0; i < 32; i++) {
                if (b->tokens >= 1) {
                    b->tokens -= 1;
                    t->admitted++;
                }
            }
            ovs_spin_unlock(&b->lock);
        }
        t->batches++;
    }
    return NULL;
}

static int
policer_threads(int argc, char *argv[])
{
    int n_threads = atoi(argv[0]);
    uint64_t pps = parse_u64(argv[1]);
    double seconds = atof(argv[2]);
    bool spinlock = argc > 3 && !strcmp(argv[3], "spinlock");
    struct vhostx_policer_cfg cfg = {
        .pkt_rate = pps, .pkt_burst = MAX(pps / 5, 32),
    };
    struct locked_bucket bucket;
    struct policer_thread *threads;
    uint64_t admitted = 0, batches = 0, start, end;

    if (n_threads < 1 || !pps || seconds <= 0) {
        ovs_fatal(0, "policer-threads: bad arguments");
    }
    ovs_spin_init(&bucket.lock);
    bucket.rate = pps / 1e9;
    bucket.burst = bucket.tokens = cfg.pkt_burst;
    bucket.last = now_ns();

    struct vhostx_policer *p = vhostx_policer_create(&cfg, 1000000000);
    threads = xcalloc(n_threads, sizeof *threads);
    start = now_ns();
    end = start + seconds * 1e9;
    for (int i = 0; i < n_threads; i++) {
        threads[i].policer = spinlock ? NULL : p;
        threads[i].bucket = &bucket;
        threads[i].end = end;
        threads[i].thread = ovs_thread_create("policer", policer_thread_main,
                                              &threads[i]);
    }
    for (int i = 0; i < n_threads; i++) {
        xpthread_join(threads[i].thread, NULL);
        admitted += threads[i].admitted;
        batches += threads[i].batches;
    }
    double elapsed = (now_ns() - start) / 1e9;

    /* The ideal count: the rate over the run plus the initial burst. */
    double ideal = pps * elapsed + cfg.pkt_burst;
    printf("design %s threads %d admitted %"PRIu64" ideal %.0f "
           "ratio %.4f\n", spinlock ? "spinlock" : "gcra", n_threads,
           admitted, ideal, admitted / ideal);
    printf("batches %"PRIu64" ns-per-batch %.1f\n", batches,
           elapsed * 1e9 * n_threads / batches);
    vhostx_policer_destroy(p);
    free(threads);
    return 0;
}

int
main(int argc, char *argv[])
{
    char *result = NULL;

    set_program_name(argv[0]);
    if (argc == 3 && !strcmp(argv[1], "check-name")) {
        return report(vhostx_check_port_name(argv[2]), xstrdup("ok"));
    } else if ((argc == 3 || argc == 4) && !strcmp(argv[1], "sock-dir")) {
        char *error = vhostx_sock_dir_from_config(argv[2],
                                                  argc == 4 ? argv[3] : NULL,
                                                  &result);
        return report(error, result);
    } else if ((argc == 2 || argc == 3) && !strcmp(argv[1], "n-mbufs")) {
        unsigned int n = 0;
        char *error = vhostx_n_mbufs_from_config(argc == 3 ? argv[2] : NULL,
                                                 &n);

        return report(error, error ? NULL : xasprintf("%u", n));
    } else if (argc == 4 && !strcmp(argv[1], "sock-path")) {
        char *error = vhostx_server_sock_path(argv[2], argv[3], &result);

        return report(error, result);
    } else if ((argc >= 4 && !strcmp(argv[1], "options"))
               || (argc >= 5 && !strcmp(argv[1], "options-as"))) {
        /* "options-as TYPE ..." maps the options of a port of that type
         * first, as set_config() does. */
        bool as_type = !strcmp(argv[1], "options-as");
        const char *type = as_type ? argv[2] : "dpdkvhostx";
        int first = as_type ? 3 : 2;
        struct ds ignored = DS_EMPTY_INITIALIZER;
        struct smap mapped = SMAP_INITIALIZER(&mapped);
        struct smap args = SMAP_INITIALIZER(&args);
        struct vhostx_sock_cfg cfg;
        char *error;

        parse_key_values(argc - first - 2, argv + first + 2, &args);
        error = vhostx_map_options(type, &args, &mapped, &ignored);
        if (!error) {
            error = vhostx_parse_options(argv[first], &mapped,
                                         argv[first + 1], &cfg);
        }
        smap_destroy(&args);
        smap_destroy(&mapped);
        if (!error) {
            result = xasprintf("role=%s path=%s group=%d mode=%04o "
                               "tx-retries-max=%d%s%s",
                               cfg.client ? "client" : "server", cfg.path,
                               cfg.gid == (gid_t) -1 ? -1 : (int) cfg.gid,
                               cfg.mode, cfg.tx_retries_max,
                               ignored.length ? " ignored=" : "",
                               ds_cstr(&ignored));
            vhostx_sock_cfg_destroy(&cfg);
        }
        ds_destroy(&ignored);
        return report(error, result);
    } else if (argc == 7 && !strcmp(argv[1], "policer-ingress")) {
        struct vhostx_policer_cfg cfg;

        return report_policer_cfg(
            vhostx_policer_cfg_from_ingress(parse_u64(argv[3]),
                                            parse_u64(argv[4]),
                                            parse_u64(argv[5]),
                                            parse_u64(argv[6]),
                                            parse_u64(argv[2]), &cfg),
            &cfg);
    } else if (argc >= 3 && !strcmp(argv[1], "policer-qos")) {
        struct smap args = SMAP_INITIALIZER(&args);
        struct vhostx_policer_cfg cfg;
        char *error;

        parse_key_values(argc - 3, argv + 3, &args);
        error = vhostx_policer_cfg_from_qos(&args, parse_u64(argv[2]), &cfg);
        smap_destroy(&args);
        return report_policer_cfg(error, &cfg);
    } else if (argc == 9 && !strcmp(argv[1], "policer-sim")) {
        return policer_sim(argv + 2);
    } else if ((argc == 5 || argc == 6)
               && !strcmp(argv[1], "policer-threads")) {
        return policer_threads(argc - 2, argv + 2);
    }
    ovs_fatal(0, "usage: %s check-name NAME | sock-dir RUNDIR [VALUE] | "
              "n-mbufs [VALUE] | sock-path DIR NAME | "
              "options NAME SOCK_DIR [KEY=VALUE]... | "
              "options-as TYPE NAME SOCK_DIR [KEY=VALUE]... | "
              "policer-ingress MAX_FRAME KBPS KB KPPS KPKTS | "
              "policer-qos MAX_FRAME [KEY=VALUE]... | "
              "policer-sim BPS BYTES PPS PKTS LENS OFFERED_PPS SECONDS | "
              "policer-threads THREADS PPS SECONDS [spinlock]",
              program_name);
}
