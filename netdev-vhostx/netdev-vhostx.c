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

/* The dpdkvhostx netdev class: port lifecycle, configuration and status.
 * Receive and transmit are in vhostx-rxtx.c, vhost events in
 * vhostx-events.c, statistics in vhostx-stats.c. */

#include <config.h>

#include <errno.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "vhostx-private.h"
#include "dirs.h"
#include "openvswitch/dynamic-string.h"
#include "dpdk.h"
#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "smap.h"
#include "sset.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(netdev_vhostx);

/* Directory of server-role sockets, from other_config:vhost-sock-dir. */
static char *vhost_sock_dir OVS_GUARDED_BY(vhostx_mutex);

static const struct netdev_class netdev_vhostx_class;

bool
is_vhostx_class(const struct netdev_class *class)
{
    return (class == &netdev_vhostx_class
            || class == &netdev_vhostx_server_class
            || class == &netdev_vhostx_client_class);
}

static struct netdev *
netdev_vhostx_alloc(void)
{
    struct netdev_vhostx *dev = xzalloc(sizeof *dev);

    return &dev->up;
}

static int
netdev_vhostx_construct(struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_init(&dev->mutex);
    atomic_init(&dev->vid, -1);
    atomic_init(&dev->dev_n_qp, 1);
    atomic_init(&dev->dev_numa, -1);
    atomic_init(&dev->dev_features, 0);
    atomic_init(&dev->event_pending, false);
    atomic_init(&dev->tx_retries_max, VHOSTX_TX_RETRIES_DEFAULT);
    dev->sock_path = NULL;
    memset(&dev->cfg, 0, sizeof dev->cfg);
    dev->config_error = NULL;
    memset(&dev->sock_id, 0, sizeof dev->sock_id);
    dev->sock_fault = NULL;
    dev->mp_fault = NULL;
    dev->mp_retry_ms = 0;
    dev->mp_backoff_ms = 0;
    ovsrcu_init(&dev->ingress_policer, NULL);
    ovsrcu_init(&dev->egress_policer, NULL);
    memset(dev->ingress_req, 0, sizeof dev->ingress_req);
    dev->qos_type = xstrdup("");
    smap_init(&dev->qos_req);
    dev->policing_error = NULL;
    dev->qos_error = NULL;
    dev->link_up = false;
    dev->link_resets = 0;
    eth_addr_random(&dev->hwaddr);
    eth_addr_mark_random(&dev->hwaddr);
    dev->flags = NETDEV_UP | NETDEV_PROMISC;

    dev->requested_mtu = dev->mtu = ETH_PAYLOAD_MAX;
    dev->max_frame = vhostx_frame_len(dev->mtu);
    dev->requested_n_txq = netdev->n_txq = 1;
    dev->requested_n_rxq = netdev->n_rxq = 1;
    dev->requested_numa = dev->numa_id = 0;
    dev->mp = NULL;
    dev->n_txq_map = 1;
    dev->txq_map = xmalloc(sizeof *dev->txq_map);
    atomic_init(&dev->txq_map[0], -1);
    for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
        rte_spinlock_init(&dev->txqs[i].tx_lock);
        atomic_init(&dev->rxqs[i].enabled, false);
        atomic_init(&dev->txqs[i].enabled, false);
    }
    atomic_init(&dev->admin_up, true);
    dev->notify_seq = -1;
    memset(dev->notify_off, 0, sizeof dev->notify_off);
    atomic_init(&dev->attach_us, 0);
    atomic_init(&dev->first_rx_pending, false);
    atomic_init(&dev->first_rx_latency_us, -1);

    ovs_mutex_lock(&vhostx_mutex);
    /* A port keeps the socket directory in effect when it was created:
     * changing vhost-sock-dir must not move the sockets of live ports. */
    dev->sock_dir = xstrdup(vhost_sock_dir ? vhost_sock_dir : ovs_rundir());
    memset(&dev->rings, 0, sizeof dev->rings);
    memset(&dev->next_rings, 0, sizeof dev->next_rings);
    dev->rings.vid = dev->next_rings.vid = -1;
    dev->n_attach = dev->n_reconnects = dev->n_handovers = 0;
    dev->attach_seq = 0;
    dev->detach_ms = dev->sock_appeared_ms = 0;
    dev->last_reconnect_ms = dev->last_downtime_ms = -1;
    ovs_list_push_back(&vhostx_devs, &dev->list_node);
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

/* Makes 'cfg' the configuration of the policer in '*policerp': publishes a
 * new policer (with full buckets), or none if 'cfg' is null or limits
 * nothing, and frees the old one once no datapath thread can use it.  An
 * unchanged configuration keeps the policer and its state. */
static void
vhostx_replace_policer(vhostx_policer_rcu *policerp,
                       const struct vhostx_policer_cfg *cfg)
{
    struct vhostx_policer *old, *new = NULL;

    old = ovsrcu_get_protected(struct vhostx_policer *, policerp);
    if (cfg && !vhostx_policer_cfg_is_empty(cfg)) {
        if (old && vhostx_policer_cfg_equal(&old->cfg, cfg)) {
            return;
        }
        new = vhostx_policer_create(cfg, rte_get_tsc_hz());
    }
    ovsrcu_set(policerp, new);
    if (old) {
        ovsrcu_postpone(vhostx_policer_destroy, old);
    }
}

static void
netdev_vhostx_destruct(struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    vhostx_detach_socket(dev);

    /* After this no vhost callback can find 'dev'. */
    ovs_mutex_lock(&vhostx_mutex);
    ovs_list_remove(&dev->list_node);
    ovs_mutex_unlock(&vhostx_mutex);

    vhostx_sock_cfg_destroy(&dev->cfg);
    free(dev->sock_dir);
    free(dev->config_error);
    free(dev->sock_fault);
    free(dev->mp_fault);
    vhostx_replace_policer(&dev->ingress_policer, NULL);
    vhostx_replace_policer(&dev->egress_policer, NULL);
    free(dev->qos_type);
    smap_destroy(&dev->qos_req);
    free(dev->policing_error);
    free(dev->qos_error);
    free(dev->txq_map);
    ovs_mutex_destroy(&dev->mutex);
}

static void
netdev_vhostx_dealloc(struct netdev *netdev)
{
    free(netdev_vhostx_cast(netdev));
}

/* Makes 'cfg' the configuration of 'dev': registers its socket unless it
 * is the one registered already, and applies the rest.  On failure leaves
 * 'dev' as it was, as far as it can, and returns a positive errno value
 * with a message in '*msgp'. */
static int
vhostx_apply_config(struct netdev_vhostx *dev, struct vhostx_sock_cfg *cfg,
                    char **msgp)
    OVS_EXCLUDED(vhostx_mutex, dev->mutex)
{
    const char *name = netdev_get_name(&dev->up);
    struct vhostx_sock_cfg old;
    bool same_socket;
    int error;

    ovs_mutex_lock(&dev->mutex);
    same_socket = (dev->sock_path
                   && vhostx_sock_cfg_same_socket(&dev->cfg, cfg));
    vhostx_sock_cfg_copy(&old, &dev->cfg);
    ovs_mutex_unlock(&dev->mutex);

    if (same_socket) {
        if (!cfg->client && (cfg->gid != old.gid || cfg->mode != old.mode)) {
            error = vhostx_set_sock_perms(cfg, msgp);
            if (error) {
                char *msg2 = NULL;

                vhostx_set_sock_perms(&old, &msg2);
                free(msg2);
                goto out;
            }
        }
    } else {
        error = vhostx_check_socket(dev, cfg, msgp);
        if (error) {
            goto out;
        }
        vhostx_detach_socket(dev);
        error = vhostx_start_socket(dev, cfg, msgp);
        if (error) {
            char *msg2 = NULL;

            /* Go back to the socket that worked, if there was one. */
            if (old.path && vhostx_start_socket(dev, &old, &msg2)) {
                VLOG_ERR("%s: could not restore socket %s: %s", name,
                         old.path, msg2);
                free(msg2);
            }
            goto out;
        }
        VLOG_INFO("%s: vhost-user %s socket %s", name,
                  (cfg->client
                   ? "client, connecting to" : "server, listening on"),
                  cfg->path);
    }

    ovs_mutex_lock(&dev->mutex);
    vhostx_sock_cfg_destroy(&dev->cfg);
    free(dev->sock_fault);
    dev->sock_fault = NULL;
    dev->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    atomic_store_relaxed(&dev->tx_retries_max, dev->cfg.tx_retries_max);
    netdev_change_seq_changed(&dev->up);
    ovs_mutex_unlock(&dev->mutex);
    error = 0;

out:
    vhostx_sock_cfg_destroy(&old);
    return error;
}

/* Applies the Interface options 'args'.  A new port that cannot be set up
 * fails with the reason in '*errp', so that the bridge shows it in the
 * Interface's error column.  A working port whose new options are refused
 * keeps its previous configuration and its traffic: set_config() returns 0
 * and the reason reaches the error column through get_config_error(). */
static int
netdev_vhostx_set_config(struct netdev *netdev, const struct smap *args,
                         char **errp)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    const char *name = netdev_get_name(netdev);
    const char *type = netdev_get_type(netdev);
    struct ds ignored = DS_EMPTY_INITIALIZER;
    struct smap mapped = SMAP_INITIALIZER(&mapped);
    struct vhostx_sock_cfg cfg;
    char *dir, *msg = NULL;
    bool live;
    int error;

    ovs_mutex_lock(&dev->mutex);
    dir = xstrdup(dev->sock_dir);
    ovs_mutex_unlock(&dev->mutex);

    msg = vhostx_map_options(type, args, &mapped, &ignored);
    if (ignored.length) {
        VLOG_WARN("%s: ignoring options that a %s port does not have: %s",
                  name, type, ds_cstr(&ignored));
    }
    ds_destroy(&ignored);
    if (!msg) {
        msg = vhostx_parse_options(name, &mapped, dir, &cfg);
    }
    smap_destroy(&mapped);
    free(dir);
    if (msg) {
        error = (strstr(msg, "bytes long") ? ENAMETOOLONG : EINVAL);
    } else {
        error = vhostx_apply_config(dev, &cfg, &msg);
        vhostx_sock_cfg_destroy(&cfg);
    }

    ovs_mutex_lock(&dev->mutex);
    live = dev->sock_path != NULL;
    free(dev->config_error);
    dev->config_error = NULL;
    if (error && live) {
        VLOG_WARN("%s: %s; keeping the previous configuration", name, msg);
        dev->config_error = xasprintf("%s: %s (the previous configuration "
                                      "stays)", name, msg);
        netdev_change_seq_changed(netdev);
        error = 0;
    } else if (error) {
        VLOG_ERR("%s: %s", name, msg);
        *errp = xasprintf("%s: %s", name, msg);
    }
    ovs_mutex_unlock(&dev->mutex);
    free(msg);
    return error;
}

/* Returns the reasons why the last options, ingress policing or QoS were
 * refused, and the faults that the port is recovering from (see
 * vhostx-recover.c), or NULL if there are none. */
static char *
netdev_vhostx_get_config_error(const struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    const char *errors[5];
    struct ds s = DS_EMPTY_INITIALIZER;

    ovs_mutex_lock(&dev->mutex);
    errors[0] = dev->config_error;
    errors[1] = dev->policing_error;
    errors[2] = dev->qos_error;
    errors[3] = dev->sock_fault;
    errors[4] = dev->mp_fault;
    for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
        if (errors[i]) {
            ds_put_format(&s, "%s%s", s.length ? "; " : "", errors[i]);
        }
    }
    ovs_mutex_unlock(&dev->mutex);
    return s.length ? ds_steal_cstr(&s) : NULL;
}

/* Ingress policing, from the Interface's ingress_policing_* columns.  The
 * bridge calls this on every reconfiguration and ignores errors: an
 * unchanged request does nothing, and a refused one keeps the previous
 * policer and reaches the error column through get_config_error(). */
static int
netdev_vhostx_set_policing(struct netdev *netdev, unsigned int kbits_rate,
                           unsigned int kbits_burst, unsigned int kpkts_rate,
                           unsigned int kpkts_burst)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    uint32_t req[4] = { kbits_rate, kbits_burst, kpkts_rate, kpkts_burst };
    struct vhostx_policer_cfg cfg;
    char *msg;
    int error;

    ovs_mutex_lock(&dev->mutex);
    if (!memcmp(req, dev->ingress_req, sizeof req)) {
        error = dev->policing_error ? EINVAL : 0;
        goto out;
    }
    memcpy(dev->ingress_req, req, sizeof req);
    free(dev->policing_error);
    dev->policing_error = NULL;

    msg = vhostx_policer_cfg_from_ingress(kbits_rate, kbits_burst,
                                          kpkts_rate, kpkts_burst,
                                          dev->max_frame, &cfg);
    if (msg) {
        VLOG_WARN("%s: %s; keeping the previous ingress policing",
                  netdev_get_name(netdev), msg);
        dev->policing_error = xasprintf("%s (the previous ingress policing "
                                        "stays)", msg);
        free(msg);
        error = EINVAL;
    } else {
        struct ds s = DS_EMPTY_INITIALIZER;

        vhostx_policer_cfg_format(&cfg, &s);
        VLOG_INFO("%s: ingress policing: %s", netdev_get_name(netdev),
                  ds_cstr(&s));
        ds_destroy(&s);
        vhostx_replace_policer(&dev->ingress_policer, &cfg);
        error = 0;
    }
    netdev_change_seq_changed(netdev);

out:
    ovs_mutex_unlock(&dev->mutex);
    return error;
}

static int
netdev_vhostx_get_qos_types(const struct netdev *netdev OVS_UNUSED,
                            struct sset *types)
{
    sset_add(types, "egress-policer");
    return 0;
}

static int
netdev_vhostx_get_qos_capabilities(const struct netdev *netdev OVS_UNUSED,
                                   const char *type,
                                   struct netdev_qos_capabilities *caps)
{
    if (strcmp(type, "egress-policer")) {
        return EOPNOTSUPP;
    }
    caps->n_queues = 0;
    return 0;
}

/* Reports the QoS in effect, which is the last request accepted. */
static int
netdev_vhostx_get_qos(const struct netdev *netdev, const char **typep,
                      struct smap *details)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    struct vhostx_policer *policer;

    ovs_mutex_lock(&dev->mutex);
    policer = ovsrcu_get_protected(struct vhostx_policer *,
                                   &dev->egress_policer);
    if (policer) {
        const struct vhostx_policer_cfg *cfg = &policer->cfg;

        *typep = "egress-policer";
        if (cfg->byte_rate) {
            smap_add_format(details, "cir", "%"PRIu64, cfg->byte_rate);
            smap_add_format(details, "cbs", "%"PRIu64, cfg->byte_burst);
        }
        if (cfg->pkt_rate) {
            smap_add_format(details, "kpkts_rate", "%"PRIu64,
                            cfg->pkt_rate / 1000);
            smap_add_format(details, "kpkts_burst", "%"PRIu64,
                            cfg->pkt_burst / 1000);
        }
    } else {
        *typep = "";
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

/* Egress policing, from the port's QoS.  Like set_policing(), called on
 * every reconfiguration; a refused request keeps the previous QoS. */
static int
netdev_vhostx_set_qos(struct netdev *netdev, const char *type,
                      const struct smap *details)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    const char *name = netdev_get_name(netdev);
    struct vhostx_policer_cfg cfg;
    char *msg = NULL;
    int error = 0;

    ovs_mutex_lock(&dev->mutex);
    if (!strcmp(type, dev->qos_type) && smap_equal(details, &dev->qos_req)) {
        error = dev->qos_error ? EINVAL : 0;
        goto out;
    }
    free(dev->qos_type);
    dev->qos_type = xstrdup(type);
    smap_destroy(&dev->qos_req);
    smap_clone(&dev->qos_req, details);
    free(dev->qos_error);
    dev->qos_error = NULL;

    if (!type[0]) {
        if (ovsrcu_get_protected(struct vhostx_policer *,
                                 &dev->egress_policer)) {
            VLOG_INFO("%s: egress policing: none", name);
        }
        vhostx_replace_policer(&dev->egress_policer, NULL);
    } else if (strcmp(type, "egress-policer")) {
        msg = xasprintf("QoS type \"%s\" is not supported (supported: "
                        "egress-policer)", type);
        error = EOPNOTSUPP;
    } else {
        msg = vhostx_policer_cfg_from_qos(details, dev->max_frame, &cfg);
        if (msg) {
            error = EINVAL;
        } else {
            struct ds s = DS_EMPTY_INITIALIZER;

            vhostx_policer_cfg_format(&cfg, &s);
            VLOG_INFO("%s: egress policing: %s", name, ds_cstr(&s));
            ds_destroy(&s);
            vhostx_replace_policer(&dev->egress_policer, &cfg);
        }
    }
    if (msg) {
        VLOG_WARN("%s: %s; keeping the previous QoS", name, msg);
        dev->qos_error = xasprintf("%s (the previous QoS stays)", msg);
        free(msg);
    }
    netdev_change_seq_changed(netdev);

out:
    ovs_mutex_unlock(&dev->mutex);
    return error;
}

static int
netdev_vhostx_get_config(const struct netdev *netdev, struct smap *args)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    if (dev->cfg.client) {
        smap_add(args, "vhost-server-path", dev->cfg.path);
    }
    if (dev->cfg.tx_retries_max != VHOSTX_TX_RETRIES_DEFAULT) {
        smap_add_format(args, "tx-retries-max", "%d",
                        dev->cfg.tx_retries_max);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhostx_get_numa_id(const struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    int numa_id;

    ovs_mutex_lock(&dev->mutex);
    numa_id = dev->numa_id;
    ovs_mutex_unlock(&dev->mutex);
    return numa_id;
}

static int
netdev_vhostx_set_tx_multiq(struct netdev *netdev, unsigned int n_txq)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    if (dev->requested_n_txq != n_txq) {
        dev->requested_n_txq = n_txq;
        netdev_request_reconfigure(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

/* Warns if a byte burst of 'dev''s policers no longer holds a frame of its
 * MTU: such frames are then always dropped.  The limits were accepted for
 * a smaller MTU, so they stay. */
static void
vhostx_check_policer_bursts(struct netdev_vhostx *dev)
    OVS_REQUIRES(dev->mutex)
{
    const struct vhostx_policer *policers[2] = {
        ovsrcu_get_protected(struct vhostx_policer *, &dev->ingress_policer),
        ovsrcu_get_protected(struct vhostx_policer *, &dev->egress_policer),
    };

    for (int i = 0; i < ARRAY_SIZE(policers); i++) {
        const struct vhostx_policer *p = policers[i];

        if (p && p->cfg.byte_rate
            && p->cfg.byte_burst + VHOSTX_POLICER_L2_BYTES
               < dev->max_frame) {
            VLOG_WARN("%s: the %s policer's burst of %"PRIu64" bytes is "
                      "smaller than one frame of MTU %d: such frames are "
                      "dropped; raise the burst", netdev_get_name(&dev->up),
                      i ? "egress" : "ingress", p->cfg.byte_burst, dev->mtu);
        }
    }
}

/* Applies what set_mtu(), set_tx_multiq() and vhost events requested.
 * dpif-netdev calls this while no datapath thread uses the port. */
static int
netdev_vhostx_reconfigure(struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    struct rte_mempool *mp = NULL;
    char *msg = NULL;
    int vid;

    ovs_mutex_lock(&vhostx_mutex);
    ovs_mutex_lock(&dev->mutex);
    /* A port gets its mbufs when a guest first attaches. */
    atomic_read(&dev->vid, &vid);
    if (dev->mp || vid >= 0) {
        mp = vhostx_mempool_get(dev->requested_numa, dev->requested_mtu,
                                &msg);
    }
    if (mp || !dev->mp) {
        if (mp || vid < 0) {
            free(dev->mp_fault);
            dev->mp_fault = NULL;
        } else {
            /* vhostx-recover.c tries again. */
            vhostx_note_mp_fault(dev, msg);
        }
        dev->mp = mp;
        dev->mtu = dev->requested_mtu;
        dev->max_frame = vhostx_frame_len(dev->mtu);
        dev->numa_id = dev->requested_numa;
        vhostx_check_policer_bursts(dev);
    } else {
        /* Failing would make dpif-netdev remove the port: keep the pool
         * and MTU that work. */
        VLOG_ERR("%s: %s; keeping MTU %d", netdev_get_name(netdev), msg,
                 dev->mtu);
    }
    free(msg);

    netdev->n_rxq = dev->requested_n_rxq;
    netdev->n_txq = dev->requested_n_txq;
    if (dev->n_txq_map != netdev->n_txq) {
        free(dev->txq_map);
        dev->n_txq_map = netdev->n_txq;
        dev->txq_map = xmalloc(dev->n_txq_map * sizeof *dev->txq_map);
        for (int i = 0; i < dev->n_txq_map; i++) {
            atomic_init(&dev->txq_map[i], -1);
        }
    }
    vhostx_update_txq_map(dev);
    vhostx_update_rxq_enabled(dev);
    netdev_change_seq_changed(netdev);
    ovs_mutex_unlock(&dev->mutex);
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

static int
netdev_vhostx_set_etheraddr(struct netdev *netdev, const struct eth_addr mac)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    if (!eth_addr_equals(dev->hwaddr, mac)) {
        dev->hwaddr = mac;
        netdev_change_seq_changed(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhostx_get_etheraddr(const struct netdev *netdev, struct eth_addr *mac)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    *mac = dev->hwaddr;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhostx_get_mtu(const struct netdev *netdev, int *mtup)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    *mtup = dev->mtu;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhostx_set_mtu(struct netdev *netdev, int mtu)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    if (mtu < VHOSTX_MIN_MTU || mtu > VHOSTX_MAX_MTU) {
        VLOG_WARN("%s: MTU %d is not in the range %d to %d",
                  netdev_get_name(netdev), mtu, VHOSTX_MIN_MTU,
                  VHOSTX_MAX_MTU);
        return EINVAL;
    }
    ovs_mutex_lock(&dev->mutex);
    if (dev->requested_mtu != mtu) {
        dev->requested_mtu = mtu;
        netdev_request_reconfigure(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhostx_get_carrier(const struct netdev *netdev, bool *carrier)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    *carrier = dev->link_up;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static long long int
netdev_vhostx_get_carrier_resets(const struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    long long int resets;

    ovs_mutex_lock(&dev->mutex);
    resets = dev->link_resets;
    ovs_mutex_unlock(&dev->mutex);
    return resets;
}

static int
netdev_vhostx_update_flags(struct netdev *netdev, enum netdev_flags off,
                           enum netdev_flags on, enum netdev_flags *old_flagsp)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    if ((off | on) & ~(NETDEV_UP | NETDEV_PROMISC)) {
        return EINVAL;
    }
    ovs_mutex_lock(&dev->mutex);
    *old_flagsp = dev->flags;
    dev->flags = (dev->flags | on) & ~off;
    if (dev->flags != *old_flagsp) {
        bool up = (dev->flags & NETDEV_UP) != 0;

        atomic_store_relaxed(&dev->admin_up, up);
        if (up != ((*old_flagsp & NETDEV_UP) != 0)) {
            VLOG_INFO("%s: administratively %s", netdev_get_name(netdev),
                      up ? "up" : "down: no traffic to or from the guest");
        }
        netdev_change_seq_changed(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static void
vhostx_policer_status(struct smap *smap, const char *key,
                      const struct vhostx_policer *policer)
{
    if (policer) {
        struct ds s = DS_EMPTY_INITIALIZER;

        vhostx_policer_cfg_format(&policer->cfg, &s);
        smap_add(smap, key, ds_cstr(&s));
        ds_destroy(&s);
    }
}

/* Adds the status of 'dev' to 'smap': what an operator needs to see of a
 * VM's link.  Also used by netdev-vhostx/show. */
void
vhostx_get_status(const struct netdev_vhostx *dev_, struct smap *smap)
{
    struct netdev_vhostx *dev = CONST_CAST(struct netdev_vhostx *, dev_);
    uint64_t features;
    int vid, n_qp;

    atomic_read(&dev->vid, &vid);
    atomic_read(&dev->dev_n_qp, &n_qp);
    atomic_read(&dev->dev_features, &features);

    ovs_mutex_lock(&dev->mutex);
    smap_add(smap, "vhost-role", dev->cfg.client ? "client" : "server");
    if (dev->sock_path) {
        smap_add(smap, "vhost-socket", dev->sock_path);
    }
    if (!dev->cfg.client && dev->sock_path) {
        smap_add_format(smap, "vhost-sock-mode", "%04o", dev->cfg.mode);
        if (dev->cfg.gid != (gid_t) -1) {
            smap_add_format(smap, "vhost-sock-group", "%u",
                            (unsigned int) dev->cfg.gid);
        }
    }
    smap_add(smap, "vhost-connected", vid >= 0 ? "true" : "false");
    if (vid >= 0) {
        struct ds s = DS_EMPTY_INITIALIZER;

        smap_add_format(smap, "vhost-vid", "%d", vid);
        smap_add_format(smap, "vhost-queue-pairs", "%d", n_qp);
        vhostx_format_features(&s, features);
        smap_add(smap, "vhost-features", ds_cstr(&s));
        ds_destroy(&s);
    }
    smap_add_format(smap, "numa_id", "%d", dev->numa_id);
    smap_add_format(smap, "n_rxq", "%d", dev->up.n_rxq);
    smap_add_format(smap, "n_txq", "%d", dev->up.n_txq);
    smap_add_format(smap, "mtu", "%d", dev->mtu);
    smap_add_format(smap, "tx-retries-max", "%d", dev->cfg.tx_retries_max);
    smap_add_format(smap, "link-resets", "%lld", dev->link_resets);
    if (dev->sock_fault) {
        smap_add(smap, "socket-error", dev->sock_fault);
    }
    if (dev->mp_fault) {
        smap_add(smap, "mbuf-error", dev->mp_fault);
    }
    vhostx_policer_status(smap, "ingress-policer",
                          ovsrcu_get_protected(struct vhostx_policer *,
                                               &dev->ingress_policer));
    vhostx_policer_status(smap, "egress-policer",
                          ovsrcu_get_protected(struct vhostx_policer *,
                                               &dev->egress_policer));
    ovs_mutex_unlock(&dev->mutex);
}

/* Adds the reconnect and handover counters of 'dev' to 'smap'. */
void
vhostx_get_reconnect_status(const struct netdev_vhostx *dev_,
                            struct smap *smap)
    OVS_REQUIRES(vhostx_mutex)
{
    struct netdev_vhostx *dev = CONST_CAST(struct netdev_vhostx *, dev_);
    long long int first_rx;

    smap_add_format(smap, "vhost-reconnects", "%lld", dev->n_reconnects);
    smap_add_format(smap, "vhost-handovers", "%lld", dev->n_handovers);
    if (dev->last_reconnect_ms >= 0) {
        smap_add_format(smap, "vhost-last-reconnect-ms", "%lld",
                        dev->last_reconnect_ms);
    }
    if (dev->last_downtime_ms >= 0) {
        smap_add_format(smap, "vhost-last-downtime-ms", "%lld",
                        dev->last_downtime_ms);
    }
    atomic_read(&dev->first_rx_latency_us, &first_rx);
    if (first_rx >= 0) {
        smap_add_format(smap, "vhost-first-rx-us", "%lld", first_rx);
    }
}

static int
netdev_vhostx_get_status(const struct netdev *netdev, struct smap *smap)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    vhostx_get_status(dev, smap);
    ovs_mutex_lock(&vhostx_mutex);
    vhostx_get_reconnect_status(dev, smap);
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

static void
netdev_vhostx_run(const struct netdev_class *class OVS_UNUSED)
{
    vhostx_events_run();
    vhostx_recover_run();
}

static void
netdev_vhostx_wait(const struct netdev_class *class OVS_UNUSED)
{
    vhostx_events_wait();
    vhostx_recover_wait();
    vhostx_upstream_wait();
}

/* Reads the global settings of the provider from the Open_vSwitch table's
 * other_config, 'ovs_other_config'. */
static void
vhostx_read_global_config(const struct smap *ovs_other_config)
{
    const char *n_mbufs_value = smap_get(ovs_other_config, "vhostx-n-mbufs");
    static char *last_value, *last_n_mbufs_value;
    const char *value = smap_get(ovs_other_config, "vhost-sock-dir");
    static bool n_mbufs_read;
    char *dir, *error;

    if (!n_mbufs_read
        || !nullable_string_is_equal(n_mbufs_value, last_n_mbufs_value)) {
        unsigned int n_mbufs;

        n_mbufs_read = true;
        free(last_n_mbufs_value);
        last_n_mbufs_value = nullable_xstrdup(n_mbufs_value);
        error = vhostx_n_mbufs_from_config(n_mbufs_value, &n_mbufs);
        if (error) {
            VLOG_WARN("%s; keeping the previous size", error);
            free(error);
        } else {
            vhostx_mempool_set_size(n_mbufs);
        }
    }

    if (vhost_sock_dir && nullable_string_is_equal(value, last_value)) {
        return;
    }
    free(last_value);
    last_value = nullable_xstrdup(value);

    error = vhostx_sock_dir_from_config(ovs_rundir(), value, &dir);
    ovs_mutex_lock(&vhostx_mutex);
    if (error) {
        VLOG_WARN("%s; keeping %s", error,
                  vhost_sock_dir ? vhost_sock_dir : ovs_rundir());
        if (!vhost_sock_dir) {
            vhost_sock_dir = xstrdup(ovs_rundir());
        }
        free(error);
    } else {
        free(vhost_sock_dir);
        vhost_sock_dir = dir;
        if (value) {
            VLOG_INFO("new server sockets are created in %s", dir);
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
}

/* Called by ovs-vswitchd right after dpdk_init() on every configuration
 * pass.  Registers the dpdkvhostx class the first time, so that a port of
 * this type gets a clear error rather than an unknown type when DPDK is not
 * initialized, follows the global settings, and once DPDK is up starts our
 * threads. */
void
netdev_external_provider_init(const struct smap *ovs_other_config)
{
    static bool registered, events_started, warned;

    if (!registered) {
        netdev_register_provider(&netdev_vhostx_class);
        registered = true;
    }
    vhostx_read_global_config(ovs_other_config);
    if (!dpdk_available()) {
        if (!warned) {
            /* Only at DBG: every ovs-vswitchd without DPDK says it. */
            VLOG_DBG("DPDK is not initialized: dpdkvhostx ports cannot be "
                     "used");
            warned = true;
        }
        return;
    }
    if (!events_started) {
        vhostx_events_init();
        vhostx_appctl_register();
        events_started = true;
    }
    vhostx_upstream_run(ovs_other_config);
}

/* The functions of our classes: "dpdkvhostx", and the upstream type names
 * that we serve when asked (see vhostx-upstream.c).  Only the first has
 * run() and wait(), so that netdev_run() runs our threads' events once. */
#define NETDEV_VHOSTX_CLASS_FUNCS                                \
    .is_pmd = true,                                              \
    .alloc = netdev_vhostx_alloc,                                \
    .construct = netdev_vhostx_construct,                        \
    .destruct = netdev_vhostx_destruct,                          \
    .dealloc = netdev_vhostx_dealloc,                            \
    .get_config = netdev_vhostx_get_config,                      \
    .set_config = netdev_vhostx_set_config,                      \
    .get_numa_id = netdev_vhostx_get_numa_id,                    \
    .set_tx_multiq = netdev_vhostx_set_tx_multiq,                \
    .send = netdev_vhostx_send,                                  \
    .set_etheraddr = netdev_vhostx_set_etheraddr,                \
    .get_etheraddr = netdev_vhostx_get_etheraddr,                \
    .get_mtu = netdev_vhostx_get_mtu,                            \
    .set_mtu = netdev_vhostx_set_mtu,                            \
    .get_carrier = netdev_vhostx_get_carrier,                    \
    .get_carrier_resets = netdev_vhostx_get_carrier_resets,      \
    .get_stats = netdev_vhostx_get_stats,                        \
    .get_custom_stats = netdev_vhostx_get_custom_stats,          \
    .get_status = netdev_vhostx_get_status,                      \
    .get_config_error = netdev_vhostx_get_config_error,          \
    .set_policing = netdev_vhostx_set_policing,                  \
    .get_qos_types = netdev_vhostx_get_qos_types,                \
    .get_qos_capabilities = netdev_vhostx_get_qos_capabilities,  \
    .get_qos = netdev_vhostx_get_qos,                            \
    .set_qos = netdev_vhostx_set_qos,                            \
    .update_flags = netdev_vhostx_update_flags,                  \
    .reconfigure = netdev_vhostx_reconfigure,                    \
    .rxq_alloc = netdev_vhostx_rxq_alloc,                        \
    .rxq_construct = netdev_vhostx_rxq_construct,                \
    .rxq_destruct = netdev_vhostx_rxq_destruct,                  \
    .rxq_dealloc = netdev_vhostx_rxq_dealloc,                    \
    .rxq_recv = netdev_vhostx_rxq_recv,                          \
    .rxq_enabled = netdev_vhostx_rxq_enabled

static const struct netdev_class netdev_vhostx_class = {
    .type = "dpdkvhostx",
    .run = netdev_vhostx_run,
    .wait = netdev_vhostx_wait,
    NETDEV_VHOSTX_CLASS_FUNCS,
};

const struct netdev_class netdev_vhostx_server_class = {
    .type = VHOSTX_UPSTREAM_SERVER_TYPE,
    NETDEV_VHOSTX_CLASS_FUNCS,
};

const struct netdev_class netdev_vhostx_client_class = {
    .type = VHOSTX_UPSTREAM_CLIENT_TYPE,
    NETDEV_VHOSTX_CLASS_FUNCS,
};
