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

/* Rate limiting (policing) of a port, in bytes and in packets, used for
 * both directions: ingress from the Interface's ingress_policing_* columns,
 * egress from a QoS of type "egress-policer".
 *
 * Design
 * ======
 *
 * Each limit is a meter that implements the generic cell rate algorithm
 * (GCRA), the "virtual scheduling" form of a token bucket: the whole state
 * of the bucket is one 64-bit number, 'tat', the theoretical arrival time
 * of the next unit (byte or packet), in ticks of the time stamp counter.
 * The bucket is full when 'tat' is not later than now.  Admitting 'c'
 * units moves 'tat' forward by c / rate seconds, starting from now if
 * 'tat' is in the past.  A bucket of 'burst' units admits a packet as long
 * as 'tat' then stays within burst / rate seconds of now.
 *
 * Because the state is one word, the PMD threads that poll or transmit on
 * the queues of a port share its meters without a lock: a thread decides a
 * whole batch against a snapshot of 'tat' and commits it with one
 * compare-and-swap, and decides again with a fresh snapshot if another
 * thread committed first.  That is one atomic operation per batch and
 * meter, however many queues and threads the port has, and the rate is the
 * port's aggregate rate.
 *
 * Time and costs are in TSC ticks; the cost of one unit is a 32.32 fixed
 * point number of ticks, so that the rounding error stays far below one
 * part in a million at any rate this machine can forward.
 *
 * Bytes are counted from the end of the Ethernet header: a frame of 'len'
 * bytes costs 'len' - 14, as upstream OVS counts for its DPDK policers (a
 * VLAN tag counts, the 4-byte FCS that vhost-user frames do not carry does
 * not).
 *
 * This file has no DPDK dependency: the caller passes the time and the
 * tick rate, so that the unit suite drives it with a simulated clock. */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vhostx-private.h"
#include "dp-packet.h"
#include "openvswitch/dynamic-string.h"
#include "util.h"

/* Longest time a full bucket may last, in ticks, so that no sum of ticks
 * overflows: about 36 years at 4 GHz. */
#define VHOSTX_METER_MAX_TICKS (UINT64_C(1) << 62)

/* Ranges accepted from the configuration. */
#define VHOSTX_POLICER_MAX_BYTE_RATE (UINT64_C(1) << 40)   /* Bytes/s. */
#define VHOSTX_POLICER_MAX_BYTE_BURST (UINT64_C(1) << 40)  /* Bytes. */
#define VHOSTX_POLICER_MAX_KPKTS UINT32_MAX

/* Defaults of the Interface columns' bursts when they are 0, as
 * vswitchd/vswitch.xml documents them. */
#define VHOSTX_INGRESS_KBITS_BURST_DEFAULT 8000
#define VHOSTX_INGRESS_KPKTS_BURST_DEFAULT 16

/* Returns the ticks that 'units' cost on meter 'm'. */
static inline uint64_t
vhostx_meter_ticks(const struct vhostx_meter *m, uint64_t units)
{
    unsigned __int128 t = (unsigned __int128) units * m->mult;

    t >>= 32;
    return t > VHOSTX_METER_MAX_TICKS ? VHOSTX_METER_MAX_TICKS : t;
}

static void
vhostx_meter_init(struct vhostx_meter *m, uint64_t rate, uint64_t burst,
                  uint64_t hz)
{
    atomic_init(&m->tat, 0);
    if (!rate) {
        m->mult = 0;
        m->tolerance = 0;
        return;
    }

    unsigned __int128 mult = ((unsigned __int128) hz << 32) / rate;

    m->mult = mult > UINT64_MAX ? UINT64_MAX : mult;
    m->tolerance = vhostx_meter_ticks(m, burst);
}

/* Returns the units that a frame of 'len' bytes costs on a byte meter. */
static inline uint64_t
vhostx_frame_units(uint32_t len)
{
    return len > VHOSTX_POLICER_L2_BYTES ? len - VHOSTX_POLICER_L2_BYTES : 0;
}

/* Returns the room, in ticks, that meter 'm' has at time 'now' if its state
 * is '*tatp', and stores in '*startp' where the charges of a new batch
 * start.  The room is negative if another thread committed with a later
 * clock reading than 'now'. */
static inline int64_t
vhostx_meter_room(const struct vhostx_meter *m, uint64_t tat, uint64_t now,
                  uint64_t *startp)
{
    uint64_t start = MAX(tat, now);

    *startp = start;
    return (int64_t) m->tolerance - (int64_t) (start - now);
}

struct vhostx_policer *
vhostx_policer_create(const struct vhostx_policer_cfg *cfg, uint64_t hz)
{
    struct vhostx_policer *p = xzalloc_cacheline(sizeof *p);

    p->cfg = *cfg;
    vhostx_meter_init(&p->bytes, cfg->byte_rate, cfg->byte_burst, hz);
    vhostx_meter_init(&p->pkts, cfg->pkt_rate, cfg->pkt_burst, hz);
    return p;
}

void
vhostx_policer_destroy(struct vhostx_policer *p)
{
    free_cacheline(p);
}

/* Decides which of the 'n' frames, whose lengths are in 'lens', policer 'p'
 * admits at time 'now' (in ticks) and charges them to its meters.  Returns
 * a bit mask with bit 'i' set if frame 'i' is admitted.  A frame is
 * admitted only if it conforms to both meters; a dropped frame costs
 * nothing, so a smaller frame behind it may still pass.  Thread-safe
 * without a lock. */
uint32_t
vhostx_policer_admit(struct vhostx_policer *p, uint64_t now,
                     const uint32_t *lens, int n)
{
    struct vhostx_meter *mb = &p->bytes;
    struct vhostx_meter *mp = &p->pkts;

    BUILD_ASSERT_DECL(NETDEV_MAX_BURST <= 32);
    ovs_assert(n <= NETDEV_MAX_BURST);

    for (;;) {
        uint64_t tat_b = 0, tat_p = 0, start_b = 0, start_p = 0;
        int64_t room_b = 0, room_p = 0;
        uint64_t acc_b = 0, acc_p = 0;
        uint32_t mask = 0;

        if (mb->mult) {
            atomic_read_relaxed(&mb->tat, &tat_b);
            room_b = vhostx_meter_room(mb, tat_b, now, &start_b);
        }
        if (mp->mult) {
            atomic_read_relaxed(&mp->tat, &tat_p);
            room_p = vhostx_meter_room(mp, tat_p, now, &start_p);
        }
        if (room_b < 0 || room_p < 0) {
            /* An empty bucket: the common case of a binding limit. */
            return 0;
        }

        /* The common case of a limit that does not bind: the whole batch
         * fits. */
        if (mb->mult) {
            for (int i = 0; i < n; i++) {
                acc_b += vhostx_frame_units(lens[i]);
            }
        }
        if ((!mb->mult || (int64_t) vhostx_meter_ticks(mb, acc_b) <= room_b)
            && (!mp->mult || (int64_t) vhostx_meter_ticks(mp, n) <= room_p)) {
            mask = vhostx_batch_mask(n);
            acc_p = n;
        } else {
            /* Frame by frame. */
            acc_b = 0;
            for (int i = 0; i < n; i++) {
                uint64_t b = acc_b + vhostx_frame_units(lens[i]);

                if (mp->mult && ((int64_t) vhostx_meter_ticks(mp, acc_p + 1)
                                 > room_p)) {
                    /* Every later frame would cost as much. */
                    break;
                }
                if (mb->mult
                    && (int64_t) vhostx_meter_ticks(mb, b) > room_b) {
                    continue;
                }
                acc_b = b;
                acc_p++;
                mask |= UINT32_C(1) << i;
            }
            if (!mask) {
                return 0;
            }
        }

        /* Commit the byte meter, then the packet meter.  If the packet
         * meter moved meanwhile, give the bytes back and decide again. */
        uint64_t cost_b = mb->mult ? vhostx_meter_ticks(mb, acc_b) : 0;
        if (mb->mult
            && !atomic_compare_exchange_weak(&mb->tat, &tat_b,
                                             start_b + cost_b)) {
            continue;
        }
        if (mp->mult
            && !atomic_compare_exchange_weak(&mp->tat, &tat_p,
                                             start_p
                                             + vhostx_meter_ticks(mp,
                                                                  acc_p))) {
            if (mb->mult) {
                uint64_t orig;

                atomic_sub(&mb->tat, cost_b, &orig);
            }
            continue;
        }
        return mask;
    }
}

/* Parses 'value' of 'key' as a decimal number from 0 to 'max' into '*np'.
 * Returns NULL if successful, otherwise an error message that the caller
 * must free. */
static char *
vhostx_parse_u64(const char *key, const char *value, uint64_t max,
                 uint64_t *np)
{
    unsigned long long n;
    char *end;

    if (value[0] < '0' || value[0] > '9') {
        goto error;
    }
    errno = 0;
    n = strtoull(value, &end, 10);
    if (*end || errno == ERANGE || n > max) {
        goto error;
    }
    *np = n;
    return NULL;

error:
    return xasprintf("%s \"%s\" is not a number from 0 to %"PRIu64,
                     key, value, max);
}

/* Checks that a burst of 'burst' bytes, configured as 'what', holds one
 * frame of 'max_frame' bytes. */
static char *
vhostx_check_byte_burst(const char *what, uint64_t burst, uint32_t max_frame)
{
    uint64_t need = vhostx_frame_units(max_frame);

    if (burst < need) {
        return xasprintf("%s is smaller than one packet: a %"PRIu32"-byte "
                         "frame, the longest this port's MTU allows, counts "
                         "%"PRIu64" bytes (the Ethernet header does not "
                         "count)", what, max_frame, need);
    }
    return NULL;
}

/* Converts the Interface's ingress_policing_* columns, as the bridge passes
 * them to set_policing(), into '*cfg'.  'max_frame' is the longest frame the
 * port admits.  Returns NULL if successful, otherwise an error message that
 * the caller must free. */
char *
vhostx_policer_cfg_from_ingress(uint32_t kbits_rate, uint32_t kbits_burst,
                                uint32_t kpkts_rate, uint32_t kpkts_burst,
                                uint32_t max_frame,
                                struct vhostx_policer_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (kbits_rate) {
        uint32_t kb = kbits_burst ? kbits_burst
                                  : VHOSTX_INGRESS_KBITS_BURST_DEFAULT;
        char what[96];

        cfg->byte_rate = (uint64_t) kbits_rate * 1000 / 8;
        cfg->byte_burst = (uint64_t) kb * 1000 / 8;
        snprintf(what, sizeof what, "ingress_policing_burst of %"PRIu32" kb "
                 "(%"PRIu64" bytes)", kb, cfg->byte_burst);
        if (!cfg->byte_rate) {
            return xasprintf("ingress_policing_rate of %"PRIu32" kbps is "
                             "less than one byte per second", kbits_rate);
        }
        char *error = vhostx_check_byte_burst(what, cfg->byte_burst,
                                              max_frame);
        if (error) {
            return error;
        }
    }
    if (kpkts_rate) {
        cfg->pkt_rate = (uint64_t) kpkts_rate * 1000;
        cfg->pkt_burst = (uint64_t) (kpkts_burst ? kpkts_burst
                                     : VHOSTX_INGRESS_KPKTS_BURST_DEFAULT)
                         * 1000;
    }
    return NULL;
}

/* Converts the other_config of a QoS of type "egress-policer", 'details',
 * into '*cfg':
 *
 *   cir, cbs: bytes per second and bytes, as upstream OVS defines them;
 *   kpkts_rate, kpkts_burst: kpps and kpkts (the burst defaults to 16).
 *
 * At least one rate must be set, and 'cbs' whenever 'cir' is.  'max_frame'
 * is the longest frame the port admits.  Returns NULL if successful,
 * otherwise an error message that the caller must free. */
char *
vhostx_policer_cfg_from_qos(const struct smap *details, uint32_t max_frame,
                            struct vhostx_policer_cfg *cfg)
{
    uint64_t cir = 0, cbs = 0, kpkts_rate = 0, kpkts_burst = 0;
    bool has_cbs = false;
    struct smap_node *node;
    char *error = NULL;

    memset(cfg, 0, sizeof *cfg);
    SMAP_FOR_EACH (node, details) {
        const char *key = node->key;

        if (!strcmp(key, "cir")) {
            error = vhostx_parse_u64(key, node->value,
                                     VHOSTX_POLICER_MAX_BYTE_RATE, &cir);
        } else if (!strcmp(key, "cbs")) {
            error = vhostx_parse_u64(key, node->value,
                                     VHOSTX_POLICER_MAX_BYTE_BURST, &cbs);
            has_cbs = true;
        } else if (!strcmp(key, "kpkts_rate")) {
            error = vhostx_parse_u64(key, node->value,
                                     VHOSTX_POLICER_MAX_KPKTS, &kpkts_rate);
        } else if (!strcmp(key, "kpkts_burst")) {
            error = vhostx_parse_u64(key, node->value,
                                     VHOSTX_POLICER_MAX_KPKTS, &kpkts_burst);
        } else {
            error = xasprintf("unknown egress-policer key \"%s\" (known "
                              "keys: cir, cbs, kpkts_rate, kpkts_burst)",
                              key);
        }
        if (error) {
            return error;
        }
    }

    if (!cir && !kpkts_rate) {
        return xstrdup("egress-policer needs a rate: cir (bytes per second) "
                       "or kpkts_rate (kpps), or both");
    }
    if (cir) {
        if (!has_cbs) {
            return xstrdup("egress-policer with cir needs cbs (bytes)");
        }
        error = vhostx_check_byte_burst("cbs", cbs, max_frame);
        if (error) {
            return error;
        }
        cfg->byte_rate = cir;
        cfg->byte_burst = cbs;
    }
    if (kpkts_rate) {
        cfg->pkt_rate = kpkts_rate * 1000;
        cfg->pkt_burst = (kpkts_burst ? kpkts_burst
                          : VHOSTX_INGRESS_KPKTS_BURST_DEFAULT) * 1000;
    }
    return NULL;
}

bool
vhostx_policer_cfg_equal(const struct vhostx_policer_cfg *a,
                         const struct vhostx_policer_cfg *b)
{
    return (a->byte_rate == b->byte_rate && a->byte_burst == b->byte_burst
            && a->pkt_rate == b->pkt_rate && a->pkt_burst == b->pkt_burst);
}

/* Returns true if 'cfg' limits nothing. */
bool
vhostx_policer_cfg_is_empty(const struct vhostx_policer_cfg *cfg)
{
    return !cfg->byte_rate && !cfg->pkt_rate;
}

/* Appends a description of 'cfg' to 's', e.g. "46000000 B/s burst 2048 B,
 * 1000000 pps burst 16000 pkts". */
void
vhostx_policer_cfg_format(const struct vhostx_policer_cfg *cfg, struct ds *s)
{
    if (cfg->byte_rate) {
        ds_put_format(s, "%"PRIu64" B/s burst %"PRIu64" B", cfg->byte_rate,
                      cfg->byte_burst);
    }
    if (cfg->pkt_rate) {
        ds_put_format(s, "%s%"PRIu64" pps burst %"PRIu64" pkts",
                      cfg->byte_rate ? ", " : "", cfg->pkt_rate,
                      cfg->pkt_burst);
    }
    if (vhostx_policer_cfg_is_empty(cfg)) {
        ds_put_cstr(s, "none");
    }
}
