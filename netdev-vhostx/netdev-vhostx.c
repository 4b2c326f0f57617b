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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "vhostx-private.h"
#include "dirs.h"
#include "dpdk.h"
#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "packets.h"
#include "smap.h"
#include "socket-util.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(netdev_vhostx);

/* Directory of server-role sockets, from other_config:vhost-sock-dir. */
static char *vhost_sock_dir OVS_GUARDED_BY(vhostx_mutex);

/* Frame sizes our mbufs hold in one segment. */
#define VHOSTX_MAX_FRAME (RTE_MBUF_DEFAULT_DATAROOM)
#define VHOSTX_MAX_MTU (VHOSTX_MAX_FRAME - ETH_HEADER_LEN - VLAN_HEADER_LEN)

static const struct netdev_class netdev_vhostx_class;

bool
is_vhostx_class(const struct netdev_class *class)
{
    return class == &netdev_vhostx_class;
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
    atomic_init(&dev->event_pending, false);
    dev->sock_path = NULL;
    dev->link_up = false;
    dev->link_resets = 0;
    dev->hwaddr = eth_addr_zero;
    eth_addr_random(&dev->hwaddr);
    eth_addr_mark_random(&dev->hwaddr);
    dev->mtu = ETH_PAYLOAD_MAX;
    dev->numa_id = 0;
    dev->flags = NETDEV_UP | NETDEV_PROMISC;
    dev->requested_n_txq = 1;
    for (int i = 0; i < VHOSTX_MAX_QUEUE_PAIRS; i++) {
        rte_spinlock_init(&dev->txqs[i].tx_lock);
        atomic_count_init(&dev->rxqs[i].busy, 0);
        atomic_count_init(&dev->txqs[i].busy, 0);
    }
    netdev->n_rxq = 1;
    netdev->n_txq = 1;

    ovs_mutex_lock(&vhostx_mutex);
    ovs_list_push_back(&vhostx_devs, &dev->list_node);
    ovs_mutex_unlock(&vhostx_mutex);
    return 0;
}

static void
netdev_vhostx_destruct(struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    char *path;

    /* After this no vhost callback can find 'dev'. */
    ovs_mutex_lock(&vhostx_mutex);
    ovs_list_remove(&dev->list_node);
    path = dev->sock_path;
    dev->sock_path = NULL;
    ovs_mutex_unlock(&vhostx_mutex);

    if (path) {
        /* We are called with netdev_mutex held, so the control thread
         * unregisters the socket, which also removes it. */
        VLOG_INFO("%s: removing vhost-user socket %s",
                  netdev_get_name(netdev), path);
        vhostx_driver_stop(path);
    }
    ovs_mutex_destroy(&dev->mutex);
}

static void
netdev_vhostx_dealloc(struct netdev *netdev)
{
    free(netdev_vhostx_cast(netdev));
}

/* Makes sure that 'path' can be bound: removes a stale socket that nobody
 * listens on any more (left behind by a crash), refuses anything else.
 * Returns 0 or a positive errno value with a message in '*errp'. */
static int
vhostx_clear_stale_socket(const char *path, char **errp)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, error;

    if (lstat(path, &st)) {
        if (errno == ENOENT) {
            return 0;
        }
        *errp = xasprintf("cannot check %s (%s)", path, ovs_strerror(errno));
        return errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        *errp = xasprintf("%s exists and is not a socket", path);
        return EEXIST;
    }

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        *errp = xasprintf("socket failed (%s)", ovs_strerror(errno));
        return errno;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    ovs_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    error = connect(fd, (struct sockaddr *) &sun, sizeof sun) ? errno : 0;
    close(fd);

    if (!error) {
        *errp = xasprintf("socket %s is in use by another process", path);
        return EADDRINUSE;
    }
    if (error == ECONNREFUSED && !unlink(path)) {
        VLOG_INFO("removed stale vhost-user socket %s", path);
        return 0;
    }
    *errp = xasprintf("cannot reuse socket %s (%s)", path,
                      ovs_strerror(error));
    return error;
}

static int
netdev_vhostx_set_config(struct netdev *netdev, const struct smap *args,
                         char **errp)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    const char *name = netdev_get_name(netdev);
    char *dir, *path, *msg = NULL;
    struct stat st;
    int error;

    if (!smap_is_empty(args)) {
        struct smap_node *node;

        SMAP_FOR_EACH (node, args) {
            VLOG_WARN("%s: unknown option '%s' ignored", name, node->key);
        }
    }

    ovs_mutex_lock(&vhostx_mutex);
    path = dev->sock_path;
    dir = xstrdup(vhost_sock_dir ? vhost_sock_dir : ovs_rundir());
    ovs_mutex_unlock(&vhostx_mutex);
    if (path) {
        /* Already listening.  Options come in a later version. */
        free(dir);
        return 0;
    }

    msg = vhostx_server_sock_path(dir, name, &path);
    if (msg) {
        error = strstr(msg, "bytes long") ? ENAMETOOLONG : EINVAL;
        free(dir);
        goto out;
    }
    if (!dpdk_available()) {
        msg = xasprintf("DPDK is not initialized: set other_config:dpdk-init"
                        "=true in the Open_vSwitch table and restart "
                        "ovs-vswitchd");
        error = EOPNOTSUPP;
        free(dir);
        free(path);
        goto out;
    }
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        msg = xasprintf("socket directory %s does not exist or is not a "
                        "directory", dir);
        error = ENOENT;
        free(dir);
        free(path);
        goto out;
    }
    free(dir);

    if (!vhostx_mempool_get(&msg)) {
        free(path);
        error = ENOMEM;
        goto out;
    }

    error = vhostx_clear_stale_socket(path, &msg);
    if (!error) {
        error = vhostx_driver_start(path, &msg);
    }
    if (error) {
        free(path);
        goto out;
    }

    ovs_mutex_lock(&vhostx_mutex);
    dev->sock_path = path;
    ovs_mutex_unlock(&vhostx_mutex);
    VLOG_INFO("%s: vhost-user server socket %s created", name, path);
    return 0;

out:
    VLOG_ERR("%s: %s", name, msg);
    *errp = xasprintf("%s: %s", name, msg);
    free(msg);
    return error;
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

static int
netdev_vhostx_reconfigure(struct netdev *netdev)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);

    ovs_mutex_lock(&dev->mutex);
    netdev->n_txq = dev->requested_n_txq;
    netdev->n_rxq = VHOSTX_MAX_QUEUE_PAIRS;
    ovs_mutex_unlock(&dev->mutex);
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

    if (mtu < ETH_PAYLOAD_MIN || mtu > VHOSTX_MAX_MTU) {
        VLOG_WARN("%s: MTU %d is not in the range %d to %d",
                  netdev_get_name(netdev), mtu, ETH_PAYLOAD_MIN,
                  VHOSTX_MAX_MTU);
        return EINVAL;
    }
    ovs_mutex_lock(&dev->mutex);
    if (dev->mtu != mtu) {
        dev->mtu = mtu;
        netdev_change_seq_changed(netdev);
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
        netdev_change_seq_changed(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static int
netdev_vhostx_get_status(const struct netdev *netdev, struct smap *smap)
{
    struct netdev_vhostx *dev = netdev_vhostx_cast(netdev);
    int vid;

    atomic_read(&dev->vid, &vid);

    ovs_mutex_lock(&vhostx_mutex);
    smap_add(smap, "vhost-role", "server");
    if (dev->sock_path) {
        smap_add(smap, "vhost-socket", dev->sock_path);
    }
    ovs_mutex_unlock(&vhostx_mutex);

    ovs_mutex_lock(&dev->mutex);
    smap_add(smap, "vhost-connected", vid >= 0 ? "true" : "false");
    if (vid >= 0) {
        smap_add_format(smap, "vhost-vid", "%d", vid);
    }
    smap_add_format(smap, "numa_id", "%d", dev->numa_id);
    smap_add_format(smap, "n_rxq", "%d", netdev->n_rxq);
    smap_add_format(smap, "n_txq", "%d", netdev->n_txq);
    smap_add_format(smap, "mtu", "%d", dev->mtu);
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

static void
netdev_vhostx_run(const struct netdev_class *class OVS_UNUSED)
{
    vhostx_events_run();
}

static void
netdev_vhostx_wait(const struct netdev_class *class OVS_UNUSED)
{
    vhostx_events_wait();
}

/* Reads the global settings of the provider from the Open_vSwitch table's
 * other_config, 'ovs_other_config'. */
static void
vhostx_read_global_config(const struct smap *ovs_other_config)
{
    static char *last_value;
    const char *value = smap_get(ovs_other_config, "vhost-sock-dir");
    char *dir, *error;

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
        VLOG_INFO("new server sockets are created in %s", dir);
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
            VLOG_INFO("DPDK is not initialized: dpdkvhostx ports cannot be "
                      "used");
            warned = true;
        }
        return;
    }
    if (!events_started) {
        vhostx_events_init();
        events_started = true;
    }
}

static const struct netdev_class netdev_vhostx_class = {
    .type = "dpdkvhostx",
    .is_pmd = true,
    .run = netdev_vhostx_run,
    .wait = netdev_vhostx_wait,
    .alloc = netdev_vhostx_alloc,
    .construct = netdev_vhostx_construct,
    .destruct = netdev_vhostx_destruct,
    .dealloc = netdev_vhostx_dealloc,
    .set_config = netdev_vhostx_set_config,
    .get_numa_id = netdev_vhostx_get_numa_id,
    .set_tx_multiq = netdev_vhostx_set_tx_multiq,
    .send = netdev_vhostx_send,
    .set_etheraddr = netdev_vhostx_set_etheraddr,
    .get_etheraddr = netdev_vhostx_get_etheraddr,
    .get_mtu = netdev_vhostx_get_mtu,
    .set_mtu = netdev_vhostx_set_mtu,
    .get_carrier = netdev_vhostx_get_carrier,
    .get_carrier_resets = netdev_vhostx_get_carrier_resets,
    .get_stats = netdev_vhostx_get_stats,
    .get_status = netdev_vhostx_get_status,
    .update_flags = netdev_vhostx_update_flags,
    .reconfigure = netdev_vhostx_reconfigure,
    .rxq_alloc = netdev_vhostx_rxq_alloc,
    .rxq_construct = netdev_vhostx_rxq_construct,
    .rxq_destruct = netdev_vhostx_rxq_destruct,
    .rxq_dealloc = netdev_vhostx_rxq_dealloc,
    .rxq_recv = netdev_vhostx_rxq_recv,
};
