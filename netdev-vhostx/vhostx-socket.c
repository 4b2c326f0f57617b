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

/* The port registry and the socket lifecycle: which ports there are and
 * which socket each has, checking a socket path before it is used,
 * registering sockets with DPDK (server sockets created with no more than
 * their mode), restarting and closing them.
 *
 * This file is the bottom layer of the provider's socket handling: the
 * port lifecycle (netdev-vhostx.c), the vhost events (vhostx-events.c),
 * the control thread (vhostx-reconnect.c) and recovery
 * (vhostx-recover.c) call it, and it calls none of them.  What it needs of
 * them it is given at start: the vhost callbacks (vhostx_socket_set_ops())
 * and the control thread's services, which unregister sockets and keep
 * client sockets connected with no OVS lock held
 * (vhostx_socket_set_ctl()). */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_net.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_vhost.h>

#include "vhostx-private.h"
#include "dpdk.h"
#include "openvswitch/vlog.h"
#include "ovs-rcu.h"
#include "ovs-thread.h"
#include "socket-util.h"
#include "util.h"

VLOG_DEFINE_THIS_MODULE(vhostx_socket);

struct ovs_mutex vhostx_mutex = OVS_MUTEX_INITIALIZER;
struct ovs_list vhostx_devs OVS_GUARDED_BY(vhostx_mutex)
    = OVS_LIST_INITIALIZER(&vhostx_devs);

/* Given once at start, before any socket is registered. */
static const struct rte_vhost_device_ops *vhost_ops;
static const struct vhostx_sock_ctl *ctl;

/* Features that we do not offer: we do not handle segmentation or
 * checksum offload from the guest.  LOG_SHMFD, which QEMU needs for live
 * migration, stays offered. */
#define VHOSTX_DISABLED_FEATURES ((1ULL << VIRTIO_NET_F_HOST_TSO4)   \
                                  | (1ULL << VIRTIO_NET_F_HOST_TSO6) \
                                  | (1ULL << VIRTIO_NET_F_HOST_ECN)  \
                                  | (1ULL << VIRTIO_NET_F_HOST_UFO)  \
                                  | (1ULL << VIRTIO_NET_F_CSUM))

/* Makes 'ops' the vhost callbacks of every socket registered from now on.
 * Called once, by vhostx-events.c, before any socket is registered. */
void
vhostx_socket_set_ops(const struct rte_vhost_device_ops *ops)
{
    vhost_ops = ops;
}

/* Makes 'ctl_' the control thread's services for the socket lifecycle.
 * Called once, by vhostx-reconnect.c as it starts the thread, before any
 * socket is registered. */
void
vhostx_socket_set_ctl(const struct vhostx_sock_ctl *ctl_)
{
    ctl = ctl_;
}

/* Stores in '*id' which file 'path' is, or zeros if there is none. */
void
vhostx_sock_identify(const char *path, struct vhostx_sock_id *id)
{
    struct stat st;

    memset(id, 0, sizeof *id);
    if (!lstat(path, &st) && S_ISSOCK(st.st_mode)) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    }
}

/* Sets the group and permissions of the server socket of 'cfg'.  The
 * file is opened once, without following a symbolic link, and checked to
 * be a socket of ours; the group and mode are then set on that very file
 * (through its descriptor), so that nothing that took its place, and
 * nothing a link points to, can be changed.  Returns 0 or a positive errno
 * value with a message in '*errp'. */
int
vhostx_set_sock_perms(const struct vhostx_sock_cfg *cfg, char **errp)
{
    char fd_path[64];
    struct stat st;
    int fd, error = 0;

    fd = open(cfg->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) || !S_ISSOCK(st.st_mode)
        || st.st_uid != geteuid()) {
        *errp = xasprintf("%s is not a socket of ours after creating it",
                          cfg->path);
        if (fd >= 0) {
            close(fd);
        }
        return EEXIST;
    }
    VLOG_DBG("%s: created with mode %04o, configured %04o", cfg->path,
             (unsigned int) (st.st_mode & 07777), cfg->mode);
    if (cfg->gid != (gid_t) -1
        && fchownat(fd, "", -1, cfg->gid, AT_EMPTY_PATH)) {
        error = errno;
        *errp = xasprintf("could not set the group of %s to %u (%s)",
                          cfg->path, (unsigned int) cfg->gid,
                          ovs_strerror(error));
        goto out;
    }
    /* fchmod() does not take an O_PATH descriptor, but chmod() of its
     * /proc link changes the file it refers to. */
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
    if (chmod(fd_path, cfg->mode)) {
        error = errno;
        *errp = xasprintf("could not set the mode of %s to %04o (%s)",
                          cfg->path, cfg->mode, ovs_strerror(error));
    }

out:
    close(fd);
    return error;
}

/* Registers 'path' with DPDK, as a server socket or (if 'client') as a
 * client that connects once, and starts it.  Returns 0 if successful,
 * otherwise a positive errno value and, if 'errp' is nonnull, an error
 * message in '*errp', which the caller must free; then 'path' is not
 * registered. */
int
vhostx_register_socket(const char *path, bool client, char **errp)
{
    uint64_t flags = (client
                      ? RTE_VHOST_USER_CLIENT | RTE_VHOST_USER_NO_RECONNECT
                      : 0);
    const char *what;
    int err;

    errno = 0;
    what = "register";
    err = rte_vhost_driver_register(path, flags);
    if (!err) {
        what = "configure features of";
        err = rte_vhost_driver_disable_features(path,
                                                VHOSTX_DISABLED_FEATURES);
    }
    if (!err) {
        what = "register callbacks for";
        err = rte_vhost_driver_callback_register(path, vhost_ops);
    }
    if (!err) {
        what = client ? "connect to" : "start";
        err = rte_vhost_driver_start(path);
    }
    if (err) {
        /* DPDK returns -1 for most failures and leaves errno set by the
         * system call that failed, if any. */
        int error = errno ? errno : EINVAL;

        if (errp) {
            *errp = xasprintf("could not %s vhost-user socket %s (%s)",
                              what, path, ovs_strerror(error));
        }
        if (strcmp(what, "register")) {
            rte_vhost_driver_unregister(path);
        }
        return error;
    }
    return 0;
}

/* A server socket is created by DPDK's bind(), with the mode that the umask
 * allows; vhostx_set_sock_perms() comes only after.  So that the socket never
 * has more permissions than configured, not even in between, it is created
 * in a short-lived thread with a file system context of its own
 * (unshare(CLONE_FS)), whose umask allows no more than the configured
 * mode.  The umask of the process and of its other threads does not
 * change. */
struct vhostx_server_start {
    const struct vhostx_sock_cfg *cfg;  /* In. */
    int umask_error;                    /* Out: 0 or why unshare() failed. */
    int error;                          /* Out: 0 or a positive errno. */
    char *errmsg;                       /* Out: if 'error', a message. */
};

static void *
vhostx_server_start_main(void *start_)
{
    struct vhostx_server_start *start = start_;
    mode_t old_mask = 0;

    /* This thread never touches RCU-protected data. */
    ovsrcu_quiesce_start();

    start->umask_error = unshare(CLONE_FS) ? errno : 0;
    if (!start->umask_error) {
        old_mask = umask(~start->cfg->mode & 0777);
    }
    start->error = vhostx_register_socket(start->cfg->path, false,
                                          &start->errmsg);
    if (!start->umask_error) {
        /* DPDK's event thread, if this call created it, shares this
         * context: give it the umask it would have had. */
        umask(old_mask);
    }
    return NULL;
}

/* Registers and starts the server socket of 'cfg' as
 * vhostx_register_socket() does, created with no more than 'cfg->mode'. */
static int
vhostx_start_server(const struct vhostx_sock_cfg *cfg, char **errp)
{
    struct vhostx_server_start start = { .cfg = cfg };

    /* Quiescent while it waits, for the reason vhostx_ctl_flush() is. */
    bool was_quiescent = ovsrcu_is_quiescent();

    if (!was_quiescent) {
        ovsrcu_quiesce_start();
    }
    xpthread_join(ovs_thread_create("vhostx_start", vhostx_server_start_main,
                                    &start), NULL);
    if (!was_quiescent) {
        ovsrcu_quiesce_end();
    }
    if (start.umask_error) {
        static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);

        VLOG_WARN_RL(&rl, "%s: could not give socket creation a umask of "
                     "its own (%s): until its mode is set, the socket has "
                     "the process's umask", cfg->path,
                     ovs_strerror(start.umask_error));
    }
    if (start.error) {
        *errp = start.errmsg;
    }
    return start.error;
}

/* Starts the socket of 'cfg': a server socket is registered and listening
 * when this returns; a client socket is handed to the control thread, which
 * connects to it as soon as it can.  The caller has flushed the control
 * thread, so that a port that used the same path has
 * unregistered it.  Returns 0 if successful, otherwise a positive errno
 * value and an error message in '*errp', which the caller must free. */
static int
vhostx_driver_start(const struct vhostx_sock_cfg *cfg, char **errp)
    OVS_EXCLUDED(vhostx_mutex)
{
    int err;

    if (cfg->client) {
        ctl->connect(cfg->path);
        return 0;
    }
    err = vhostx_start_server(cfg, errp);
    if (!err) {
        err = vhostx_set_sock_perms(cfg, errp);
        if (err) {
            rte_vhost_driver_unregister(cfg->path);
        }
    }
    return err;
}

/* Returns what kind of file 'mode' is, for messages. */
static const char *
vhostx_file_kind(mode_t mode)
{
    return (S_ISLNK(mode) ? "a symbolic link"
            : S_ISREG(mode) ? "a regular file"
            : S_ISDIR(mode) ? "a directory"
            : S_ISFIFO(mode) ? "a FIFO"
            : S_ISCHR(mode) ? "a character device"
            : S_ISBLK(mode) ? "a block device"
            : S_ISSOCK(mode) ? "a socket"
            : "an unknown kind of file");
}

/* Makes sure that 'path' can be bound: removes a stale socket that nobody
 * listens on any more (left behind by a crash), refuses anything else.  A
 * symbolic link at 'path' is neither followed nor removed, whatever it
 * points to, and nothing but that stale socket is ever removed.  Returns 0
 * or a positive errno value with a message in '*errp'. */
static int
vhostx_clear_stale_socket(const char *path, char **errp)
{
    struct sockaddr_un sun;
    struct stat st, st2;
    int fd, error;

    if (lstat(path, &st)) {
        if (errno == ENOENT) {
            return 0;
        }
        *errp = xasprintf("cannot check %s (%s)", path, ovs_strerror(errno));
        return errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        *errp = xasprintf("%s exists and is not a socket but %s, which is "
                          "left as it is", path, vhostx_file_kind(st.st_mode));
        return EEXIST;
    }

    /* Non-blocking: connecting to a socket whose listener's backlog is
     * full would otherwise block the main thread until it accepts. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *errp = xasprintf("socket failed (%s)", ovs_strerror(errno));
        return errno;
    }
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    ovs_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    error = connect(fd, (struct sockaddr *) &sun, sizeof sun) ? errno : 0;
    close(fd);

    if (!error || error == EAGAIN) {
        *errp = xasprintf("socket %s is in use by another process, which "
                          "listens on it; it is left as it is", path);
        return EADDRINUSE;
    }
    if (error == ECONNREFUSED) {
        /* Remove only the file that was checked: if something else took
         * its place meanwhile, leave it. */
        if (lstat(path, &st2) || st2.st_dev != st.st_dev
            || st2.st_ino != st.st_ino || !S_ISSOCK(st2.st_mode)) {
            *errp = xasprintf("%s changed while it was checked; it is left "
                              "as it is", path);
            return EAGAIN;
        }
        if (!unlink(path)) {
            VLOG_INFO("removed stale vhost-user socket %s", path);
            return 0;
        }
        error = errno;
    }
    *errp = xasprintf("cannot reuse socket %s (%s)", path,
                      ovs_strerror(error));
    return error;
}

/* Checks the file at 'path', the server socket that a client port connects
 * to: nothing there yet (the guest's QEMU creates it later) or a socket.
 * A symbolic link is refused, as for server sockets, so that the socket a
 * port uses is always the one its options name.  Returns 0 or a positive
 * errno value with a message in '*errp'. */
static int
vhostx_check_server_socket(const char *path, char **errp)
{
    struct stat st;

    if (lstat(path, &st)) {
        if (errno == ENOENT) {
            return 0;
        }
        *errp = xasprintf("cannot check %s (%s)", path, ovs_strerror(errno));
        return errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        *errp = xasprintf("vhost-server-path %s is not a socket but %s",
                          path, vhostx_file_kind(st.st_mode));
        return S_ISLNK(st.st_mode) ? ELOOP : ENOTSOCK;
    }
    return 0;
}

/* Returns the name of the other dpdkvhostx port that uses socket 'path',
 * or NULL. */
static const char *
vhostx_path_user(const struct netdev_vhostx *dev, const char *path)
    OVS_REQUIRES(vhostx_mutex)
{
    struct netdev_vhostx *other;

    LIST_FOR_EACH (other, list_node, &vhostx_devs) {
        if (other != dev && other->sock_path
            && !strcmp(other->sock_path, path)) {
            return netdev_get_name(&other->up);
        }
    }
    return NULL;
}

/* Checks what can be checked of 'cfg' before registering it: the DPDK
 * state, the path's other users and, for a server, its directory and any
 * file in the way.  Returns 0 or a positive errno value with a message in
 * '*msgp'. */
int
vhostx_check_socket(struct netdev_vhostx *dev,
                    const struct vhostx_sock_cfg *cfg, char **msgp)
    OVS_EXCLUDED(vhostx_mutex)
{
    const char *user;
    struct stat st;
    char *dir;
    int error;

    if (!dpdk_available()) {
        *msgp = xstrdup("DPDK is not initialized: set other_config:"
                        "dpdk-init=true in the Open_vSwitch table and "
                        "restart ovs-vswitchd");
        return EOPNOTSUPP;
    }

    ovs_mutex_lock(&vhostx_mutex);
    user = vhostx_path_user(dev, cfg->path);
    if (user) {
        *msgp = xasprintf("socket %s is already used by port %s",
                          cfg->path, user);
    }
    ovs_mutex_unlock(&vhostx_mutex);
    if (user) {
        return EADDRINUSE;
    }
    if (cfg->client) {
        return vhostx_check_server_socket(cfg->path, msgp);
    }

    dir = dir_name(cfg->path);
    error = stat(dir, &st) || !S_ISDIR(st.st_mode) ? ENOENT : 0;
    if (!error && access(dir, W_OK | X_OK)) {
        error = errno;
    }
    if (error) {
        *msgp = xasprintf("socket directory %s %s", dir,
                          error == ENOENT
                          ? "does not exist or is not a directory"
                          : "is not writable");
    }
    free(dir);
    return error ? error : vhostx_clear_stale_socket(cfg->path, msgp);
}

/* Sets the socket path of 'dev', by which the vhost callbacks find it, to
 * 'path' (may be NULL). */
static void
vhostx_set_sock_path(struct netdev_vhostx *dev, const char *path)
    OVS_EXCLUDED(vhostx_mutex, dev->mutex)
{
    ovs_mutex_lock(&vhostx_mutex);
    ovs_mutex_lock(&dev->mutex);
    free(dev->sock_path);
    dev->sock_path = nullable_xstrdup(path);
    ovs_mutex_unlock(&dev->mutex);
    ovs_mutex_unlock(&vhostx_mutex);
}

/* Starts the socket of 'cfg' for 'dev', which has none.  The path is set
 * first: a peer may connect, and its device become ready, before
 * vhostx_driver_start() returns, and the callbacks would not find the port
 * without it. */
int
vhostx_start_socket(struct netdev_vhostx *dev,
                    const struct vhostx_sock_cfg *cfg, char **msgp)
    OVS_EXCLUDED(vhostx_mutex, dev->mutex)
{
    int error;

    /* Let a port that used the same path finish closing it first: its
     * registration must be gone before we make ours, and the callbacks of
     * its device must not find this port. */
    ctl->flush();
    vhostx_set_sock_path(dev, cfg->path);
    error = vhostx_driver_start(cfg, msgp);
    if (error) {
        vhostx_set_sock_path(dev, NULL);
    } else if (!cfg->client) {
        struct vhostx_sock_id id;

        vhostx_sock_identify(cfg->path, &id);
        ovs_mutex_lock(&dev->mutex);
        dev->sock_id = id;
        ovs_mutex_unlock(&dev->mutex);
    }
    return error;
}

/* Creates the server socket of 'dev' again, with its current
 * configuration, after its file was removed.  Returns 0 or a positive
 * errno value with a message in '*msgp'; then, if the path is taken by
 * something else, 'dev' keeps its registration and that file stays. */
int
vhostx_restart_server_socket(struct netdev_vhostx *dev, char **msgp)
    OVS_EXCLUDED(vhostx_mutex)
{
    struct vhostx_sock_cfg cfg;
    int error;

    ovs_mutex_lock(&dev->mutex);
    vhostx_sock_cfg_copy(&cfg, &dev->cfg);
    ovs_mutex_unlock(&dev->mutex);

    error = vhostx_check_socket(dev, &cfg, msgp);
    if (!error) {
        vhostx_detach_socket(dev);
        error = vhostx_start_socket(dev, &cfg, msgp);
    }
    vhostx_sock_cfg_destroy(&cfg);
    return error;
}

/* Detaches 'dev' from its socket, if any, and hands the socket to the
 * control thread to unregister. */
void
vhostx_detach_socket(struct netdev_vhostx *dev)
    OVS_EXCLUDED(vhostx_mutex, dev->mutex)
{
    struct vhostx_sock_id id;
    char *path;

    ovs_mutex_lock(&vhostx_mutex);
    ovs_mutex_lock(&dev->mutex);
    path = dev->sock_path;
    dev->sock_path = NULL;
    id = dev->sock_id;
    memset(&dev->sock_id, 0, sizeof dev->sock_id);
    ovs_mutex_unlock(&dev->mutex);
    ovs_mutex_unlock(&vhostx_mutex);

    if (path) {
        /* We may be called with netdev_mutex held, so the control thread
         * unregisters the socket, which also removes a server socket (but
         * only if it is still ours). */
        VLOG_INFO("%s: closing vhost-user socket %s",
                  netdev_get_name(&dev->up), path);
        ctl->unregister(path, &id);
    }
}

