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

/* The control thread ("vhostx_ctl").  It does the slow and blocking work
 * with DPDK's vhost library that must not run with OVS locks held or in a
 * vhost callback:
 *
 *   - it unregisters sockets of ports that were deleted or changed;
 *
 *   - it keeps client sockets connected.  DPDK 22.11's own reconnection
 *     retries once a second, so a restarted QEMU could wait up to a second
 *     for its link.  We register client sockets without it and connect
 *     ourselves: inotify tells us within milliseconds when a server socket
 *     appears, and while it does not, we back off to one attempt a second
 *     without any log or CPU to speak of. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_vhost.h>

#include "vhostx-private.h"
#include "coverage.h"
#include "openvswitch/list.h"
#include "openvswitch/vlog.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "socket-util.h"
#include "timeval.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vhostx_reconnect);

COVERAGE_DEFINE(vhostx_connect_attempt);
COVERAGE_DEFINE(vhostx_reconnect);

/* Set when the control thread counted something that it has not published
 * yet (see ctl_coverage_publish()).  Control thread only. */
static bool ctl_coverage_pending;

/* Backoff between connection attempts, in milliseconds. */
#define BACKOFF_MIN 1
#define BACKOFF_MAX 1000

/* A connection on which the server has said nothing within this many
 * milliseconds is dropped and made again: a server that accepted it while
 * still tearing down the previous one may never answer on it.  A server
 * that talks (QEMU sets up its vrings as soon as it connects) keeps its
 * connection, however long its guest takes to start the device: a whole
 * boot, or a whole live migration for a destination QEMU. */
#define READY_TIMEOUT 2000

enum ctl_op {
    CTL_UNREGISTER,             /* Unregister 'path', forget it. */
    CTL_CONNECT,                /* Keep client socket 'path' connected. */
    CTL_CONNECTED,              /* A connection on 'path' opened. */
    CTL_DISCONNECTED,           /* A connection on 'path' closed. */
};

struct ctl_req {
    struct ovs_list node;
    enum ctl_op op;
    char *path;
    int vid;                    /* CTL_CONNECTED: the connection's device. */
    struct vhostx_sock_id id;   /* CTL_UNREGISTER: our server socket file. */
};

static struct ovs_mutex ctl_mutex = OVS_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cond = PTHREAD_COND_INITIALIZER;
static struct ovs_list ctl_reqs OVS_GUARDED_BY(ctl_mutex)
    = OVS_LIST_INITIALIZER(&ctl_reqs);
static bool ctl_busy OVS_GUARDED_BY(ctl_mutex);
static int ctl_wake_fds[2] = { -1, -1 };

/* A client socket that the control thread keeps connected.  Only the
 * control thread uses these. */
struct ctl_client {
    struct ovs_list node;
    char *path;
    bool registered;            /* Registered with DPDK and connected. */
    long long int ready_deadline;  /* Registered: when to give up waiting
                                    * for the server to talk, or LLONG_MAX
                                    * once it did. */
    int conn_vid;               /* The connection's device, or -1. */
    long long int next_try;     /* time_msec() of the next attempt. */
    int backoff;                /* Milliseconds to the attempt after. */
    int wd;                     /* inotify watch on the directory, or -1. */
    bool waiting_logged;        /* Said once that the server is absent. */
};

static struct ovs_list clients = OVS_LIST_INITIALIZER(&clients);
static int inotify_fd = -1;

static void
ctl_wake(void)
{
    ignore(write(ctl_wake_fds[1], "", 1));
}

static void
ctl_request(enum ctl_op op, char *path, int vid,
            const struct vhostx_sock_id *id)
    OVS_EXCLUDED(ctl_mutex)
{
    struct ctl_req *req = xzalloc(sizeof *req);

    req->op = op;
    req->path = path;
    req->vid = vid;
    if (id) {
        req->id = *id;
    }
    ovs_mutex_lock(&ctl_mutex);
    ovs_list_push_back(&ctl_reqs, &req->node);
    ovs_mutex_unlock(&ctl_mutex);
    ctl_wake();
}

/* Hands 'path' to the control thread, which unregisters it from DPDK and
 * frees it.  For a server socket, 'id' says which file is ours: DPDK
 * removes a server socket's path when it unregisters it, and the control
 * thread keeps whatever else is there by then.  Safe to call with OVS locks
 * held. */
void
vhostx_ctl_unregister(char *path, const struct vhostx_sock_id *id)
{
    ctl_request(CTL_UNREGISTER, path, -1, id);
}

/* Asks the control thread to keep client socket 'path' connected. */
void
vhostx_ctl_connect(const char *path)
{
    ctl_request(CTL_CONNECT, xstrdup(path), -1, NULL);
}

/* Tells the control thread that a connection on 'path' opened, with device
 * 'vid'.  Called from a vhost callback: it only queues the news. */
void
vhostx_ctl_connected(const char *path, int vid)
{
    ctl_request(CTL_CONNECTED, xstrdup(path), vid, NULL);
}

/* Tells the control thread that a connection on 'path' closed.  Called
 * from a vhost callback: it only queues the news. */
void
vhostx_ctl_disconnected(const char *path)
{
    ctl_request(CTL_DISCONNECTED, xstrdup(path), -1, NULL);
}

/* Waits until the control thread has carried out every request made so
 * far.  The caller must not hold vhostx_mutex: unregistering may wait for a
 * vhost callback, which takes it. */
void
vhostx_ctl_flush(void)
    OVS_EXCLUDED(vhostx_mutex, ctl_mutex)
{
    /* Quiescent while it waits: unregistering a socket with a guest
     * attached runs destroy_device() on the control thread, which waits
     * for an RCU grace period, that is, for this thread too.  The caller
     * holds no RCU-protected pointer across this call. */
    bool was_quiescent = ovsrcu_is_quiescent();

    if (!was_quiescent) {
        ovsrcu_quiesce_start();
    }
    ovs_mutex_lock(&ctl_mutex);
    while (!ovs_list_is_empty(&ctl_reqs) || ctl_busy) {
        ovs_mutex_cond_wait(&ctl_cond, &ctl_mutex);
    }
    ovs_mutex_unlock(&ctl_mutex);
    if (!was_quiescent) {
        ovsrcu_quiesce_end();
    }
}

static struct ctl_client *
client_find(const char *path)
{
    struct ctl_client *c;

    LIST_FOR_EACH (c, node, &clients) {
        if (!strcmp(c->path, path)) {
            return c;
        }
    }
    return NULL;
}

static void
client_unwatch(struct ctl_client *c)
{
    if (c->wd >= 0) {
        struct ctl_client *other;
        bool shared = false;

        /* inotify gives one watch per directory: keep it while another
         * client uses it. */
        LIST_FOR_EACH (other, node, &clients) {
            shared |= other != c && other->wd == c->wd;
        }
        if (!shared) {
            inotify_rm_watch(inotify_fd, c->wd);
        }
        c->wd = -1;
    }
}

static void
client_watch(struct ctl_client *c)
{
    if (c->wd < 0 && inotify_fd >= 0) {
        char *dir = dir_name(c->path);

        c->wd = inotify_add_watch(inotify_fd, dir,
                                  IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
        free(dir);
    }
}

/* Tells the port that uses 'path' when its server socket appeared, so that
 * it can report how long the connection took. */
static void
client_note_appeared(const char *path, long long int when)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct netdev_vhostx *dev;

    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        if (dev->sock_path && !strcmp(dev->sock_path, path)) {
            dev->sock_appeared_ms = when;
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
}

/* Tries to connect 'c' once. */
static void
client_try(struct ctl_client *c, long long int now)
{
    struct stat st;

    COVERAGE_INC(vhostx_connect_attempt);
    ctl_coverage_pending = true;
    if (stat(c->path, &st) || !S_ISSOCK(st.st_mode)) {
        /* Nothing to connect to: inotify wakes us when it appears.  The
         * timer only guards against a missed event (e.g. the directory did
         * not exist yet). */
        if (!c->waiting_logged) {
            VLOG_INFO("%s: waiting for the server socket to appear",
                      c->path);
            c->waiting_logged = true;
        }
        client_watch(c);
        c->backoff = BACKOFF_MAX;
        c->next_try = now + c->backoff;
        return;
    }

    if (!vhostx_register_socket(c->path, true, NULL)) {
        c->registered = true;
        c->ready_deadline = now + READY_TIMEOUT;
        c->conn_vid = -1;
        c->waiting_logged = false;
        c->backoff = BACKOFF_MIN;
        c->next_try = LLONG_MAX;
        client_unwatch(c);
        VLOG_DBG("%s: connected", c->path);
        return;
    }

    /* The socket exists but nobody accepts yet (a server between bind()
     * and listen()) or any more (a stale file): retry, backing off. */
    client_watch(c);
    c->next_try = now + c->backoff;
    c->backoff = MIN(c->backoff * 2, BACKOFF_MAX);
}

/* Returns true if a port using 'path' has a vhost device attached. */
static bool
client_is_ready(const char *path)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct netdev_vhostx *dev;
    bool ready = false;

    ovs_mutex_lock(&vhostx_mutex);
    LIST_FOR_EACH (dev, list_node, &vhostx_devs) {
        if (dev->sock_path && !strcmp(dev->sock_path, path)) {
            int vid;

            atomic_read(&dev->vid, &vid);
            ready = vid >= 0;
        }
    }
    ovs_mutex_unlock(&vhostx_mutex);
    return ready;
}

/* Checks that a connection of 'c' made its device ready in time, and if it
 * did not, drops it and connects again. */
static void
client_check_ready(struct ctl_client *c, long long int now)
{
    static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 5);

    if (client_is_ready(c->path)) {
        c->ready_deadline = LLONG_MAX;
    } else if (c->conn_vid >= 0 && rte_vhost_get_vring_num(c->conn_vid)) {
        /* The server set up vrings: it is alive, and its guest will start
         * the device when it is ready. */
        VLOG_DBG("%s: the server talks; waiting for its guest", c->path);
        c->ready_deadline = LLONG_MAX;
    } else if (now >= c->ready_deadline) {
        VLOG_WARN_RL(&rl, "%s: the server said nothing %d ms after "
                     "connecting, connecting again", c->path,
                     READY_TIMEOUT);
        rte_vhost_driver_unregister(c->path);
        c->registered = false;
        c->next_try = now;
    }
}

static void
client_forget(struct ctl_client *c)
{
    if (c->registered) {
        rte_vhost_driver_unregister(c->path);
    }
    client_unwatch(c);
    ovs_list_remove(&c->node);
    free(c->path);
    free(c);
}

/* Unregisters server socket 'path', whose file was 'id', from DPDK.  DPDK
 * then removes 'path', whatever it names: if it no longer names our socket
 * (an operator or another program removed ours and put something else
 * there), a second name keeps that file while DPDK removes the first, and
 * gives it its name back. */
static void
ctl_unregister_server(const char *path, const struct vhostx_sock_id *id)
{
    char *keep = NULL;
    struct stat st;

    if (id->ino && !lstat(path, &st)
        && (st.st_ino != id->ino || st.st_dev != id->dev)) {
        keep = xasprintf("%s.vhostx-keep.%ld", path, (long) getpid());
        if (link(path, keep)) {
            VLOG_ERR("%s is no longer our vhost-user socket and cannot be "
                     "kept while unregistering it (%s): leaving it "
                     "registered, so that it is not removed", path,
                     ovs_strerror(errno));
            free(keep);
            return;
        }
    }
    if (rte_vhost_driver_unregister(path)) {
        VLOG_WARN("could not unregister vhost-user socket %s", path);
    }
    if (keep) {
        if (link(keep, path)) {
            VLOG_WARN("could not give %s its name back (%s): it is now %s",
                      path, ovs_strerror(errno), keep);
        } else {
            unlink(keep);
            VLOG_INFO("%s is no longer our vhost-user socket: left it in "
                      "place", path);
        }
        free(keep);
    }
}

static void
ctl_handle(struct ctl_req *req)
{
    struct ctl_client *c = client_find(req->path);
    long long int now = time_msec();

    switch (req->op) {
    case CTL_UNREGISTER:
        if (c) {
            client_forget(c);
        } else {
            ctl_unregister_server(req->path, &req->id);
        }
        break;

    case CTL_CONNECT:
        if (!c) {
            c = xzalloc(sizeof *c);
            c->path = xstrdup(req->path);
            c->wd = -1;
            c->conn_vid = -1;
            c->backoff = BACKOFF_MIN;
            ovs_list_push_back(&clients, &c->node);
        }
        c->next_try = now;
        break;

    case CTL_CONNECTED:
        if (c && c->registered) {
            c->conn_vid = req->vid;
        }
        break;

    case CTL_DISCONNECTED:
        if (c) {
            c->conn_vid = -1;
        }
        if (c && c->registered) {
            /* Without DPDK's reconnection a client socket is done once its
             * connection closes: register it again and connect at once,
             * since a restarting server usually comes back quickly. */
            COVERAGE_INC(vhostx_reconnect);
            ctl_coverage_pending = true;
            rte_vhost_driver_unregister(c->path);
            c->registered = false;
            c->backoff = BACKOFF_MIN;
            c->next_try = now;
        }
        break;

    default:
        OVS_NOT_REACHED();
    }
    free(req->path);
    free(req);
}

/* Reads inotify events and makes the clients waiting for a file that just
 * appeared try at once. */
static void
ctl_read_inotify(void)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    long long int now = time_msec();
    ssize_t n;

    while ((n = read(inotify_fd, buf, sizeof buf)) > 0) {
        char *p = buf;

        while (p < buf + n) {
            const struct inotify_event *ev = (const void *) p;
            struct ctl_client *c;

            LIST_FOR_EACH (c, node, &clients) {
                const char *base = strrchr(c->path, '/');

                base = base ? base + 1 : c->path;
                if (!c->registered && c->wd == ev->wd && ev->len
                    && !strcmp(ev->name, base)) {
                    c->next_try = now;
                    c->backoff = BACKOFF_MIN;
                    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                        client_note_appeared(c->path, now);
                    }
                }
            }
            p += sizeof *ev + ev->len;
        }
    }
}

/* This thread's coverage counts reach coverage/show only once it calls
 * coverage_clear(), which publishes them at most once per second: the
 * thread does so before it blocks, and while it holds counts that it could
 * not publish yet it wakes up in time to. */
static void
ctl_coverage_publish(long long int now, long long int *next)
{
    static long long int last_publish = LLONG_MIN;

    if (!ctl_coverage_pending) {
        return;
    }
    if (last_publish == LLONG_MIN || now - last_publish >= 1000) {
        coverage_clear();
        last_publish = now;
        ctl_coverage_pending = false;
    } else {
        *next = MIN(*next, last_publish + 1000);
    }
}

static void *
vhostx_ctl_main(void *arg OVS_UNUSED)
{
    /* This thread never touches RCU-protected data, and it blocks. */
    ovsrcu_quiesce_start();

    for (;;) {
        long long int now, next = LLONG_MAX;
        struct ctl_client *c;
        struct pollfd pfds[2];
        int timeout;

        ovs_mutex_lock(&ctl_mutex);
        while (!ovs_list_is_empty(&ctl_reqs)) {
            struct ctl_req *req = CONTAINER_OF(ovs_list_pop_front(&ctl_reqs),
                                               struct ctl_req, node);

            ctl_busy = true;
            ovs_mutex_unlock(&ctl_mutex);
            ctl_handle(req);
            ovs_mutex_lock(&ctl_mutex);
        }
        ctl_busy = false;
        xpthread_cond_broadcast(&ctl_cond);
        ovs_mutex_unlock(&ctl_mutex);

        now = time_msec();
        LIST_FOR_EACH (c, node, &clients) {
            if (c->registered && c->ready_deadline != LLONG_MAX) {
                client_check_ready(c, now);
            }
            if (!c->registered && c->next_try <= now) {
                client_try(c, now);
            }
            if (!c->registered) {
                next = MIN(next, c->next_try);
            } else if (c->ready_deadline != LLONG_MAX) {
                /* Look again soon: the device is usually ready within
                 * milliseconds. */
                next = MIN(next, MIN(c->ready_deadline, now + 100));
            }
        }

        ctl_coverage_publish(time_msec(), &next);
        timeout = (next == LLONG_MAX ? -1
                   : MIN(MAX(next - time_msec(), 0), BACKOFF_MAX));
        pfds[0].fd = ctl_wake_fds[0];
        pfds[0].events = POLLIN;
        pfds[1].fd = inotify_fd;
        pfds[1].events = POLLIN;
        if (poll(pfds, inotify_fd >= 0 ? 2 : 1, timeout) > 0) {
            if (pfds[0].revents & POLLIN) {
                char buf[64];

                while (read(ctl_wake_fds[0], buf, sizeof buf) > 0) {
                    continue;
                }
            }
            if (inotify_fd >= 0 && pfds[1].revents & POLLIN) {
                ctl_read_inotify();
            }
        }
    }
    OVS_NOT_REACHED();
}

/* Starts the control thread.  Called once. */
void
vhostx_ctl_init(void)
{
    static const struct vhostx_sock_ctl sock_ctl = {
        .unregister = vhostx_ctl_unregister,
        .connect = vhostx_ctl_connect,
        .flush = vhostx_ctl_flush,
    };

    vhostx_socket_set_ctl(&sock_ctl);
    xpipe_nonblocking(ctl_wake_fds);
    inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd < 0) {
        VLOG_WARN("inotify_init1 failed (%s): client ports reconnect by "
                  "polling once a second", ovs_strerror(errno));
    }
    ovs_thread_create("vhostx_ctl", vhostx_ctl_main, NULL);
}
