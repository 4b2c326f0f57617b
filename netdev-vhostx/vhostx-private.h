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

#ifndef NETDEV_VHOSTX_PRIVATE_H
#define NETDEV_VHOSTX_PRIVATE_H 1

/* Internal interfaces shared by the files of the dpdkvhostx provider.
 *
 * Threads, locks and who waits for whom
 * =====================================
 *
 * The main thread configures ports (construct, set_config, reconfigure,
 * destruct) and applies vhost events in netdev_vhostx_run().
 *
 * DPDK's vhost-events thread runs our vhost callbacks.  DPDK may call
 * vring_state_changed() and features_changed() with the access locks of
 * the device's vrings held, and a PMD thread may be spinning on one of
 * those locks.  So a callback only records the event in the device, under
 * vhostx_mutex, and wakes the main thread; it never waits while it holds
 * vhostx_mutex or any other lock of ours.
 *
 * Who publishes the vid: new_device() stores a device's 'dev_n_qp',
 * 'dev_numa' and 'dev_features', then its 'vid' with release order;
 * destroy_device() stores -1.  Both do so under vhostx_mutex, which orders
 * them against each other and against the main thread.
 *
 * Who uses it: PMD threads load 'vid' with acquire order (pairing with that
 * release, so that they see the queue count of the device whose vid they
 * load) and then receive or transmit with it, with no lock of ours but a
 * per-vring spinlock on transmit (several OVS tx queues may share one
 * vring).  The main thread uses it for rte_vhost_*() calls and to read
 * the guest's rings in netdev-vhostx/show.
 *
 * Who waits, where, holding what: DPDK frees a device's memory (the guest's
 * rings and buffers) as soon as destroy_device() returns.  So
 * destroy_device(), after it has stored -1 and released vhostx_mutex,
 * waits for an RCU grace period (ovsrcu_synchronize()).  Every OVS thread
 * that may have loaded the old vid (PMD threads, the main thread) does so
 * between two quiescent states, so after the grace period none of them is
 * still using it.  The callback holds none of our locks while it waits,
 * and no OVS thread waits for the vhost-events thread without being
 * quiescent: the control thread's rte_vhost_driver_unregister() (which
 * waits for callbacks in progress) runs quiescent, and the main thread
 * is quiescent while it waits for the control thread
 * (vhostx_ctl_flush()) or for the thread that creates a server socket.
 * A PMD thread does not block on anything of the vhost-events thread: DPDK
 * takes vring access locks on dequeue with a trylock.
 *
 * The main thread calls rte_vhost_*() functions that take a vring's
 * access lock (rte_vhost_enable_guest_notification()) only with none of
 * our locks held: the vhost-events thread may hold that access lock while
 * it waits for vhostx_mutex in a callback.
 *
 * Our control thread ("vhostx_ctl") calls rte_vhost_driver_unregister(),
 * which must never run with an OVS lock held: it waits for in-progress
 * vhost callbacks.
 *
 * Lock order: netdev_mutex (OVS's, held around construct and destruct),
 * then vhostx_mutex, then a device's 'mutex'.  Nothing of ours takes
 * netdev_mutex (netdev_ref(), netdev_from_name()) with vhostx_mutex or a
 * device's 'mutex' held. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include <rte_spinlock.h>

#include "netdev-provider.h"
#include "openvswitch/list.h"
#include "ovs-atomic.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "smap.h"
#include "util.h"

struct ds;
struct rte_mempool;

/* Queue pairs a device can have: DPDK 22.11's vhost library offers guests
 * up to 128. */
#define VHOSTX_MAX_QUEUE_PAIRS 128

/* Transmit retries when the guest's ring is full: default and maximum of
 * options:tx-retries-max. */
#define VHOSTX_TX_RETRIES_DEFAULT 8
#define VHOSTX_TX_RETRIES_MAX 32

/* Mbufs in each pool (other_config:vhostx-n-mbufs): default and range.
 * A pool for jumbo frames has a quarter as many. */
#define VHOSTX_N_MBUFS_DEFAULT (16 * 1024 - 1)
#define VHOSTX_N_MBUFS_MIN (4 * 1024 - 1)
#define VHOSTX_N_MBUFS_MAX (1024 * 1024 - 1)

/* MTU range. */
#define VHOSTX_MIN_MTU 68
#define VHOSTX_MAX_MTU 9000

/* Default permissions of a server socket: owner and group may connect. */
#define VHOSTX_SOCK_MODE_DEFAULT 0660

/* Bytes a UNIX socket address holds, including the terminating null. */
#define VHOSTX_SUN_PATH_MAX (sizeof ((struct sockaddr_un *) NULL)->sun_path)

/* Where and how the port's socket is, as configured through the Interface
 * options. */
struct vhostx_sock_cfg {
    bool client;                /* Client role: we connect to 'path'. */
    char *path;                 /* Socket path. */
    gid_t gid;                  /* Server role: group, or (gid_t) -1. */
    int mode;                   /* Server role: permission bits. */
    int tx_retries_max;         /* Transmit retries on a full ring. */
};

/* Which file a server socket is, to tell it from whatever an operator or
 * another program may put at its path later.  'ino' is 0 if unknown. */
struct vhostx_sock_id {
    dev_t dev;
    ino_t ino;
};

/* Counters of one vring.  Each has a single writer at a time (the PMD that
 * polls the rx queue, or the holder of the tx lock); readers use relaxed
 * atomic loads. */
struct vhostx_qstats {
    atomic_uint64_t packets;
    atomic_uint64_t bytes;
    atomic_uint64_t dropped;    /* All drops, including 'oversize'. */
    atomic_uint64_t oversize;   /* Frames longer than the MTU allows. */
    atomic_uint64_t retries;    /* Transmit retries on a full ring. */
    atomic_uint64_t policed;    /* Dropped by the port's policer. */
};

/* Ethernet header bytes that a frame's cost in a policer leaves out. */
#define VHOSTX_POLICER_L2_BYTES 14

/* A rate limit, in bytes and packets per second; a rate of 0 does not
 * limit.  Bytes exclude the Ethernet header (see vhostx-policer.c). */
struct vhostx_policer_cfg {
    uint64_t byte_rate;         /* Bytes per second. */
    uint64_t byte_burst;        /* Bytes. */
    uint64_t pkt_rate;          /* Packets per second. */
    uint64_t pkt_burst;         /* Packets. */
};

/* One token bucket, as a GCRA meter (see vhostx-policer.c). */
struct vhostx_meter {
    atomic_uint64_t tat;        /* Theoretical arrival time, in ticks. */
    uint64_t mult;              /* Ticks per unit, 32.32 fixed point; 0 if
                                 * the meter does not limit. */
    uint64_t tolerance;         /* Ticks that a full bucket holds. */
};

/* The policer of one direction of a port: immutable but for the meters'
 * 'tat', replaced as a whole (through RCU) when the configuration
 * changes. */
struct vhostx_policer {
    struct vhostx_meter bytes;
    struct vhostx_meter pkts;
    struct vhostx_policer_cfg cfg;
};
typedef OVSRCU_TYPE(struct vhostx_policer *) vhostx_policer_rcu;

/* One direction of a queue pair seen from OVS. */
struct vhostx_queue {
    PADDED_MEMBERS(CACHE_LINE_SIZE,
        rte_spinlock_t tx_lock;        /* Serializes transmit. */
        /* Receive queues: whether the guest's tx ring of this queue pair is
         * enabled, for rxq_enabled().  Written by the main thread, read by
         * PMD threads; relaxed order, as nothing else is published with
         * it: dpif-netdev rereads it when the port's change_seq changes,
         * and a poll of a ring that was just disabled returns nothing. */
        atomic_bool enabled;
        struct vhostx_qstats stats;
    );
};

/* Which rings of a vhost device the guest enabled, as vring_state_changed()
 * reports them. */
struct vhostx_rings {
    int vid;                                   /* Device, or -1. */
    bool guest_rx[VHOSTX_MAX_QUEUE_PAIRS];     /* We transmit to these. */
    bool guest_tx[VHOSTX_MAX_QUEUE_PAIRS];     /* We receive from these. */
};

struct netdev_vhostx {
    struct netdev up;

    /* Ring state, protected by vhostx_mutex: 'rings' of the attached device
     * (or of the one connecting while none is attached), 'next_rings' of a
     * second connection on the same socket that is not ready yet, such as
     * the destination of a live migration. */
    struct vhostx_rings rings OVS_GUARDED_BY(vhostx_mutex);
    struct vhostx_rings next_rings OVS_GUARDED_BY(vhostx_mutex);

    /* Devices attached so far, handovers included: tells a device from
     * the previous one when DPDK gives it the same vid. */
    long long int attach_seq OVS_GUARDED_BY(vhostx_mutex);

    /* Vrings of the device of 'notify_seq' (an 'attach_seq') whose guest
     * notifications (kicks) the main thread turned off, bit q for vring q.
     * Only the main thread uses these. */
    long long int notify_seq;
    uint64_t notify_off[2 * VHOSTX_MAX_QUEUE_PAIRS / 64];

    /* Reconnect and handover bookkeeping, protected by vhostx_mutex.  Times
     * are time_msec() values; 0 means never. */
    long long int n_attach OVS_GUARDED_BY(vhostx_mutex);
    long long int n_reconnects OVS_GUARDED_BY(vhostx_mutex);
    long long int n_handovers OVS_GUARDED_BY(vhostx_mutex);
    long long int detach_ms OVS_GUARDED_BY(vhostx_mutex);
    long long int sock_appeared_ms OVS_GUARDED_BY(vhostx_mutex);
    long long int last_reconnect_ms OVS_GUARDED_BY(vhostx_mutex);
    long long int last_downtime_ms OVS_GUARDED_BY(vhostx_mutex);

    /* Time from a device attaching to the first packet received from it:
     * the callback sets 'attach_us' and then 'first_rx_pending'; the PMD
     * that receives first clears it and stores the latency. */
    atomic_llong attach_us;
    atomic_bool first_rx_pending;
    atomic_llong first_rx_latency_us;

    /* In 'vhostx_devs', protected by vhostx_mutex. */
    struct ovs_list list_node OVS_GUARDED_BY(vhostx_mutex);

    /* Socket path registered with DPDK, or NULL.  Written with both
     * vhostx_mutex and 'mutex' held, so that either lock allows reading
     * it. */
    char *sock_path;

    /* What the vhost callbacks record: written by them, read by everyone
     * else.  'vid' is -1 while no device is attached. */
    atomic_int vid;
    atomic_int dev_n_qp;                /* Queue pairs of the device. */
    atomic_int dev_numa;                /* NUMA node of guest memory. */
    atomic_uint64_t dev_features;       /* Negotiated virtio features. */
    atomic_bool event_pending;          /* Cleared by netdev_vhostx_run(). */

    struct ovs_mutex mutex OVS_ACQ_AFTER(vhostx_mutex);

    /* Policers, or NULL: set by the main thread with 'mutex' held, read by
     * the datapath threads through RCU.  'ingress_req' and 'qos_req' are
     * the last requests, so that the bridge's unchanged requests on every
     * reconfiguration neither reset the meters nor log again;
     * 'policing_error' and 'qos_error' say why the last one was refused. */
    vhostx_policer_rcu ingress_policer;
    vhostx_policer_rcu egress_policer;
    uint32_t ingress_req[4] OVS_GUARDED;
    char *qos_type OVS_GUARDED;         /* Last requested QoS type. */
    struct smap qos_req OVS_GUARDED;
    char *policing_error OVS_GUARDED;
    char *qos_error OVS_GUARDED;

    struct vhostx_sock_cfg cfg OVS_GUARDED;   /* Working configuration. */
    char *sock_dir OVS_GUARDED;         /* vhost-sock-dir when created. */
    char *config_error OVS_GUARDED;     /* Last change refused, or NULL. */

    /* Faults that vhostx-recover.c watches for and recovers from, set and
     * cleared by the main thread: which file our server socket is, why it
     * cannot be reached, why the port has no mbufs, and when to try again
     * to get them. */
    struct vhostx_sock_id sock_id OVS_GUARDED;
    char *sock_fault OVS_GUARDED;
    char *mp_fault OVS_GUARDED;
    long long int mp_retry_ms OVS_GUARDED;
    int mp_backoff_ms OVS_GUARDED;

    /* Whether the port is administratively up ('flags' has NETDEV_UP), for
     * the datapath: while it is down, nothing is received from the guest
     * and everything sent to it is dropped and counted.  Written with
     * 'mutex' held, read by PMD threads with relaxed order: no other data
     * is published with it, and a burst that starts just before it
     * changes is the same as a burst that started a little earlier. */
    atomic_bool admin_up;

    bool link_up OVS_GUARDED;           /* As last applied by run(). */
    long long int link_resets OVS_GUARDED;
    struct eth_addr hwaddr OVS_GUARDED;
    enum netdev_flags flags OVS_GUARDED;

    /* Requested by set_mtu(), set_tx_multiq() and vhost events; applied by
     * reconfigure(). */
    int requested_mtu OVS_GUARDED;
    int requested_n_txq OVS_GUARDED;
    int requested_n_rxq OVS_GUARDED;
    int requested_numa OVS_GUARDED;

    /* Applied by reconfigure(), while no datapath thread uses the port; read
     * by the datapath threads without locks.  'mp' is NULL until a guest
     * first attaches: a port without a guest takes no hugepage memory. */
    int mtu;
    int numa_id;
    uint32_t max_frame;                 /* Longest frame, from 'mtu'. */
    struct rte_mempool *mp;
    atomic_int tx_retries_max;

    /* Maps each OVS transmit queue to a queue pair whose guest rx ring is
     * enabled, or -1.  'n_txq_map' entries; the array is replaced only by
     * reconfigure(), the entries are updated by run(). */
    atomic_int *txq_map;
    int n_txq_map;

    struct vhostx_queue rxqs[VHOSTX_MAX_QUEUE_PAIRS];
    struct vhostx_queue txqs[VHOSTX_MAX_QUEUE_PAIRS];
};

struct netdev_rxq_vhostx {
    struct netdev_rxq up;
};

extern struct ovs_mutex vhostx_mutex;
extern struct ovs_list vhostx_devs OVS_GUARDED_BY(vhostx_mutex);

/* The upstream port types that other_config:vhostx-serve-upstream-types
 * makes us serve (see vhostx-upstream.c), and our classes for them. */
#define VHOSTX_UPSTREAM_SERVER_TYPE "dpdkvhostuser"
#define VHOSTX_UPSTREAM_CLIENT_TYPE "dpdkvhostuserclient"
extern const struct netdev_class netdev_vhostx_server_class;
extern const struct netdev_class netdev_vhostx_client_class;

bool is_vhostx_class(const struct netdev_class *);

/* OVS calls our class's functions only with netdevs of our class, so the
 * casts need no check, as in OVS's own providers: they are on every
 * burst. */
static inline struct netdev_vhostx *
netdev_vhostx_cast(const struct netdev *netdev)
{
    return CONTAINER_OF(netdev, struct netdev_vhostx, up);
}

static inline struct netdev_rxq_vhostx *
netdev_rxq_vhostx_cast(const struct netdev_rxq *rx)
{
    return CONTAINER_OF(rx, struct netdev_rxq_vhostx, up);
}

/* Returns the vid of the device attached to 'dev', or -1.  Acquire order
 * pairs with the release store in new_device(): a thread that loads a vid
 * also sees the queue count and features stored before it.  The device
 * stays valid until the caller's next quiescent state (see above). */
static inline int
vhostx_get_vid(const struct netdev_vhostx *dev_)
{
    struct netdev_vhostx *dev = CONST_CAST(struct netdev_vhostx *, dev_);
    int vid;

    atomic_read_explicit(&dev->vid, &vid, memory_order_acquire);
    return vid;
}

/* Longest frame a port with 'mtu' passes: Ethernet header and one VLAN
 * tag on top of the MTU. */
static inline uint32_t
vhostx_frame_len(int mtu)
{
    return mtu + 14 + 4;
}

/* vhostx-config.c: validation of names, paths and options.  Pure
 * functions, so that the unit suite can drive them without DPDK. */
char *vhostx_check_port_name(const char *name);
char *vhostx_sock_dir_from_config(const char *rundir, const char *value,
                                  char **dirp);
char *vhostx_server_sock_path(const char *sock_dir, const char *name,
                              char **pathp);
char *vhostx_n_mbufs_from_config(const char *value, unsigned int *np);
char *vhostx_parse_options(const char *name, const struct smap *args,
                           const char *sock_dir, struct vhostx_sock_cfg *);
char *vhostx_map_options(const char *type, const struct smap *args,
                         struct smap *out, struct ds *ignored);
void vhostx_sock_cfg_destroy(struct vhostx_sock_cfg *);
bool vhostx_sock_cfg_same_socket(const struct vhostx_sock_cfg *,
                                 const struct vhostx_sock_cfg *);
void vhostx_sock_cfg_copy(struct vhostx_sock_cfg *dst,
                          const struct vhostx_sock_cfg *src);

/* Returns the mask of a batch of 'n' packets, bit i for packet i, as
 * vhostx_policer_admit() returns it when it admits them all. */
static inline uint32_t
vhostx_batch_mask(int n)
{
    return n < 32 ? (UINT32_C(1) << n) - 1 : UINT32_MAX;
}

/* vhostx-policer.c: rate limiting.  Pure functions but for the meters'
 * atomics, so that the unit suite can drive them without DPDK. */
struct vhostx_policer *vhostx_policer_create(const struct vhostx_policer_cfg *,
                                             uint64_t hz);
void vhostx_policer_destroy(struct vhostx_policer *);
uint32_t vhostx_policer_admit(struct vhostx_policer *, uint64_t now,
                              const uint32_t *lens, int n);
char *vhostx_policer_cfg_from_ingress(uint32_t kbits_rate,
                                      uint32_t kbits_burst,
                                      uint32_t kpkts_rate,
                                      uint32_t kpkts_burst,
                                      uint32_t max_frame,
                                      struct vhostx_policer_cfg *);
char *vhostx_policer_cfg_from_qos(const struct smap *details,
                                  uint32_t max_frame,
                                  struct vhostx_policer_cfg *);
bool vhostx_policer_cfg_equal(const struct vhostx_policer_cfg *,
                              const struct vhostx_policer_cfg *);
bool vhostx_policer_cfg_is_empty(const struct vhostx_policer_cfg *);
void vhostx_policer_cfg_format(const struct vhostx_policer_cfg *,
                               struct ds *);

/* vhostx-socket.c: the port registry ('vhostx_devs') and the socket
 * lifecycle, the bottom layer that the rest calls and that calls none of
 * it.  What it needs of the control thread it gets through these hooks,
 * which vhostx-reconnect.c installs when it starts the thread. */
struct vhostx_sock_ctl {
    /* Unregisters 'path' (taking it), of our server socket file 'id', on
     * the control thread, with no OVS lock held. */
    void (*unregister)(char *path, const struct vhostx_sock_id *id);
    /* Keeps client socket 'path' connected. */
    void (*connect)(const char *path);
    /* Waits until the control thread has done all it was asked. */
    void (*flush)(void);
};
struct rte_vhost_device_ops;
void vhostx_socket_set_ops(const struct rte_vhost_device_ops *);
void vhostx_socket_set_ctl(const struct vhostx_sock_ctl *);
void vhostx_sock_identify(const char *path, struct vhostx_sock_id *);
int vhostx_set_sock_perms(const struct vhostx_sock_cfg *, char **errp);
int vhostx_register_socket(const char *path, bool client, char **errp);
int vhostx_check_socket(struct netdev_vhostx *,
                        const struct vhostx_sock_cfg *, char **msgp)
    OVS_EXCLUDED(vhostx_mutex);
int vhostx_start_socket(struct netdev_vhostx *,
                        const struct vhostx_sock_cfg *, char **msgp)
    OVS_EXCLUDED(vhostx_mutex);
void vhostx_detach_socket(struct netdev_vhostx *)
    OVS_EXCLUDED(vhostx_mutex);
int vhostx_restart_server_socket(struct netdev_vhostx *, char **msgp)
    OVS_EXCLUDED(vhostx_mutex);

/* vhostx-events.c: vhost callbacks and applying what they record. */
int vhostx_events_init(void);
void vhostx_events_run(void);
void vhostx_events_wait(void);
void vhostx_update_txq_map(struct netdev_vhostx *)
    OVS_REQUIRES(vhostx_mutex);
void vhostx_update_rxq_enabled(struct netdev_vhostx *)
    OVS_REQUIRES(vhostx_mutex);
void vhostx_format_notify(struct netdev_vhostx *, struct ds *)
    OVS_REQUIRES(vhostx_mutex);
void vhostx_note_first_rx(struct netdev_vhostx *);

/* vhostx-reconnect.c: the control thread, which unregisters sockets and
 * keeps client sockets connected. */
void vhostx_ctl_init(void);
void vhostx_ctl_unregister(char *path, const struct vhostx_sock_id *);
void vhostx_ctl_connect(const char *path);
void vhostx_ctl_connected(const char *path, int vid);
void vhostx_ctl_disconnected(const char *path);
void vhostx_ctl_flush(void);

/* vhostx-recover.c: recovery from a removed server socket and from
 * hugepage exhaustion. */
void vhostx_recover_run(void);
void vhostx_recover_wait(void);
void vhostx_note_mp_fault(struct netdev_vhostx *dev, const char *msg)
    OVS_REQUIRES(dev->mutex);

/* vhostx-rxtx.c: mempools, receive, transmit. */
struct rte_mempool *vhostx_mempool_get(int numa, int mtu, char **errp);
void vhostx_mempool_format(struct ds *);
void vhostx_mempool_set_size(unsigned int n_mbufs);
void vhostx_mempool_check(void);
int netdev_vhostx_send(struct netdev *, int qid, struct dp_packet_batch *,
                       bool concurrent_txq);
struct netdev_rxq *netdev_vhostx_rxq_alloc(void);
int netdev_vhostx_rxq_construct(struct netdev_rxq *);
void netdev_vhostx_rxq_destruct(struct netdev_rxq *);
void netdev_vhostx_rxq_dealloc(struct netdev_rxq *);
int netdev_vhostx_rxq_recv(struct netdev_rxq *, struct dp_packet_batch *,
                           int *qfill);
bool netdev_vhostx_rxq_enabled(struct netdev_rxq *);

/* vhostx-stats.c.  Custom stats are VHOSTX_N_QUEUE_COUNTERS per queue
 * followed by VHOSTX_N_TOTAL_COUNTERS totals. */
#define VHOSTX_N_QUEUE_COUNTERS 7
#define VHOSTX_N_TOTAL_COUNTERS 5
int netdev_vhostx_get_stats(const struct netdev *, struct netdev_stats *);
int netdev_vhostx_get_custom_stats(const struct netdev *,
                                   struct netdev_custom_stats *);
void vhostx_format_features(struct ds *, uint64_t features);

/* netdev-vhostx.c. */
void vhostx_get_status(const struct netdev_vhostx *, struct smap *);
void vhostx_get_reconnect_status(const struct netdev_vhostx *, struct smap *)
    OVS_REQUIRES(vhostx_mutex);

/* vhostx-appctl.c. */
void vhostx_appctl_register(void);

/* vhostx-upstream.c: serving upstream port type names. */
void vhostx_upstream_run(const struct smap *ovs_other_config);
void vhostx_upstream_wait(void);
void vhostx_upstream_format(struct ds *);

#endif /* netdev-vhostx/vhostx-private.h */
