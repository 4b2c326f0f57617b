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

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhostx-private.h"
#include "openvswitch/dynamic-string.h"
#include "smap.h"
#include "util.h"

/* Returns true if 'path' has a ".." component. */
static bool
has_dotdot_component(const char *path)
{
    const char *p = path;

    while ((p = strstr(p, "..")) != NULL) {
        bool starts = (p == path) || (*(p - 1) == '/');
        bool ends = p[2] == '\0' || p[2] == '/';

        if (starts && ends) {
            return true;
        }
        p += 2;
    }
    return false;
}

/* Checks that 'name' can be a dpdkvhostx port name.  In server role the
 * name is also the socket file's name, so it may not walk out of the socket
 * directory.  Returns NULL if it is fine, otherwise an error message that
 * the caller must free. */
char *
vhostx_check_port_name(const char *name)
{
    if (!name[0]) {
        return xstrdup("port name is empty");
    }
    if (strchr(name, '/')) {
        return xasprintf("port name '%s' must not contain '/': it is the "
                         "name of the port's socket file", name);
    }
    if (strstr(name, "..") || !strcmp(name, ".")) {
        return xasprintf("port name '%s' must not contain '..' or be '.': "
                         "it is the name of the port's socket file", name);
    }
    return NULL;
}

/* Works out the directory for server sockets from the value of
 * other_config:vhost-sock-dir, 'value' (NULL if unset).  A relative 'value'
 * is taken relative to 'rundir', as OVS does for dpdkvhostuser ports; an
 * absolute one is used as it is.  On success stores the directory, which
 * the caller must free, in '*dirp' and returns NULL; otherwise returns an
 * error message, which the caller must free, and stores NULL. */
char *
vhostx_sock_dir_from_config(const char *rundir, const char *value,
                            char **dirp)
{
    *dirp = NULL;
    if (!value || !value[0]) {
        *dirp = xstrdup(rundir);
        return NULL;
    }
    if (has_dotdot_component(value)) {
        return xasprintf("vhost-sock-dir '%s' must not contain a '..' "
                         "component", value);
    }
    *dirp = (value[0] == '/'
             ? xstrdup(value)
             : xasprintf("%s/%s", rundir, value));
    return NULL;
}

/* Parses other_config:vhostx-n-mbufs, 'value' (NULL if unset): the number
 * of mbufs in each pool made from now on.  On success stores it in '*np'
 * and returns NULL; otherwise returns an error message, which the caller
 * must free, and leaves '*np' alone. */
char *
vhostx_n_mbufs_from_config(const char *value, unsigned int *np)
{
    int n;

    if (!value) {
        *np = VHOSTX_N_MBUFS_DEFAULT;
        return NULL;
    }
    if (!str_to_int(value, 10, &n)
        || n < VHOSTX_N_MBUFS_MIN || n > VHOSTX_N_MBUFS_MAX) {
        return xasprintf("vhostx-n-mbufs '%s' is not a number from %d to "
                         "%d", value, VHOSTX_N_MBUFS_MIN,
                         VHOSTX_N_MBUFS_MAX);
    }
    *np = n;
    return NULL;
}

/* Checks 'path' as a socket path given in option 'key'.  Returns NULL if it
 * is fine, otherwise an error message that the caller must free. */
static char *
check_sock_path(const char *key, const char *path)
{
    if (has_dotdot_component(path)) {
        return xasprintf("%s '%s' must not contain a '..' component",
                         key, path);
    }
    if (path[0] && path[strlen(path) - 1] == '/') {
        return xasprintf("%s '%s' ends with '/': it must name the socket "
                         "file, not a directory", key, path);
    }
    if (strlen(path) >= VHOSTX_SUN_PATH_MAX) {
        return xasprintf("%s '%s' is %"PRIuSIZE" bytes long, but a UNIX "
                         "socket path holds at most %"PRIuSIZE, key, path,
                         strlen(path), VHOSTX_SUN_PATH_MAX - 1);
    }
    return NULL;
}

/* Builds the path of a server-role socket for port 'name' in 'sock_dir'.
 * On success stores the path, which the caller must free, in '*pathp' and
 * returns NULL; otherwise returns an error message, which the caller must
 * free, and stores NULL. */
char *
vhostx_server_sock_path(const char *sock_dir, const char *name,
                        char **pathp)
{
    char *error = vhostx_check_port_name(name);
    char *path;

    *pathp = NULL;
    if (error) {
        return error;
    }

    path = xasprintf("%s/%s", sock_dir, name);
    error = check_sock_path("socket path", path);
    if (error) {
        free(path);
        return error;
    }
    *pathp = path;
    return NULL;
}

/* Parses 'value' of option 'key' as a decimal integer in [min, max] into
 * '*valuep'.  Returns NULL or an error message that the caller must
 * free. */
static char *
parse_int_option(const char *key, const char *value, int min, int max,
                 int *valuep)
{
    char *end;
    long v;

    /* strtol() would also take leading spaces and a sign. */
    errno = 0;
    v = strtol(value, &end, 10);
    if (!isdigit((unsigned char) value[0]) || *end || errno
        || v < min || v > max) {
        return xasprintf("%s '%s' is not an integer from %d to %d",
                         key, value, min, max);
    }
    *valuep = v;
    return NULL;
}

/* Parses 'value' of vhost-sock-group, a group name or number. */
static char *
parse_group(const char *value, gid_t *gidp)
{
    char buf[4096];
    struct group grp, *res = NULL;
    char *end;
    unsigned long v;

    if (!value[0]) {
        return xstrdup("vhost-sock-group is empty");
    }
    errno = 0;
    v = strtoul(value, &end, 10);
    if (isdigit((unsigned char) value[0]) && !*end && !errno
        && v < (gid_t) -1) {
        *gidp = v;
        return NULL;
    }
    if (getgrnam_r(value, &grp, buf, sizeof buf, &res) || !res) {
        return xasprintf("vhost-sock-group '%s' is not a known group",
                         value);
    }
    *gidp = res->gr_gid;
    return NULL;
}

/* Parses 'value' of vhost-sock-mode, octal permission bits.  A mode that
 * lets any local user write to the socket, and so connect to it and share
 * memory with ovs-vswitchd, is refused rather than masked: the operator
 * gets what was written or an error, never something in between. */
static char *
parse_mode(const char *value, int *modep)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(value, &end, 8);
    if (!value[0] || *end || errno || value[0] < '0' || value[0] > '7'
        || v < 0 || v > 0777 || (v & 0600) != 0600) {
        return xasprintf("vhost-sock-mode '%s' is not an octal mode from "
                         "0600 to 0777 (the owner must keep read and write "
                         "permission)", value);
    }
    if (v & S_IWOTH) {
        return xasprintf("vhost-sock-mode '%s' would make the socket "
                         "world-writable, so that any local user could "
                         "connect to it: give the guest's user a group "
                         "with vhost-sock-group instead", value);
    }
    *modep = v;
    return NULL;
}

/* Returns true if 'key' is an option that vhostx_parse_options() knows. */
static bool
is_vhostx_option(const char *key)
{
    return (!strcmp(key, "vhost-server-path")
            || !strcmp(key, "vhost-sock-path")
            || !strcmp(key, "vhost-sock-group")
            || !strcmp(key, "vhost-sock-mode")
            || !strcmp(key, "tx-retries-max"));
}

/* Parses the Interface options 'args' of dpdkvhostx port 'name', whose
 * server sockets go to 'sock_dir' by default, into 'cfg'.
 *
 *   vhost-server-path   client role: the path of the guest's server socket
 *                       (absolute).  Without it the port is a server.
 *   vhost-sock-path     server role: the socket's path, absolute or
 *                       relative to 'sock_dir' (default: the port name).
 *   vhost-sock-group    server role: group of the socket (name or number).
 *   vhost-sock-mode     server role: permission bits, octal (0660).
 *   tx-retries-max      retries when the guest's ring is full (0 to 32).
 *
 * Returns NULL on success.  Otherwise returns an error message that the
 * caller must free, and leaves 'cfg' empty. */
char *
vhostx_parse_options(const char *name, const struct smap *args,
                     const char *sock_dir, struct vhostx_sock_cfg *cfg)
{
    const char *server_path = smap_get(args, "vhost-server-path");
    const char *sock_path = smap_get(args, "vhost-sock-path");
    const char *group = smap_get(args, "vhost-sock-group");
    const char *mode = smap_get(args, "vhost-sock-mode");
    const char *retries = smap_get(args, "tx-retries-max");
    struct smap_node *node;
    char *error = NULL;

    memset(cfg, 0, sizeof *cfg);
    cfg->gid = (gid_t) -1;
    cfg->mode = VHOSTX_SOCK_MODE_DEFAULT;
    cfg->tx_retries_max = VHOSTX_TX_RETRIES_DEFAULT;

    SMAP_FOR_EACH (node, args) {
        if (!is_vhostx_option(node->key)) {
            error = xasprintf("unknown option '%s'", node->key);
            goto out;
        }
    }

    if (server_path && server_path[0]) {
        cfg->client = true;
        if (sock_path || group || mode) {
            error = xasprintf("vhost-sock-path, vhost-sock-group and "
                              "vhost-sock-mode apply only to the server "
                              "role, but vhost-server-path makes the port "
                              "a client");
            goto out;
        }
        if (server_path[0] != '/') {
            error = xasprintf("vhost-server-path '%s' is not an absolute "
                              "path", server_path);
            goto out;
        }
        error = check_sock_path("vhost-server-path", server_path);
        if (error) {
            goto out;
        }
        cfg->path = xstrdup(server_path);
    } else if (sock_path) {
        if (!sock_path[0]) {
            error = xstrdup("vhost-sock-path is empty");
            goto out;
        }
        cfg->path = (sock_path[0] == '/'
                     ? xstrdup(sock_path)
                     : xasprintf("%s/%s", sock_dir, sock_path));
        error = check_sock_path("vhost-sock-path", cfg->path);
        if (error) {
            goto out;
        }
    } else {
        error = vhostx_server_sock_path(sock_dir, name, &cfg->path);
        if (error) {
            goto out;
        }
    }

    if (group) {
        error = parse_group(group, &cfg->gid);
        if (error) {
            goto out;
        }
    }
    if (mode) {
        error = parse_mode(mode, &cfg->mode);
        if (error) {
            goto out;
        }
    }
    if (retries) {
        error = parse_int_option("tx-retries-max", retries, 0,
                                 VHOSTX_TX_RETRIES_MAX, &cfg->tx_retries_max);
    }

out:
    if (error) {
        vhostx_sock_cfg_destroy(cfg);
    }
    return error;
}

/* Maps the Interface options 'args' of a port of type 'type' to the
 * options of a dpdkvhostx port, in 'out' (initialized by the caller).
 *
 * For "dpdkvhostx" that is 'args' itself.  A port created with an upstream
 * type name, "dpdkvhostuser" or "dpdkvhostuserclient", that we serve (see
 * vhostx-upstream.c) takes its role from its type, as upstream does: a
 * dpdkvhostuserclient port is a client and needs vhost-server-path; a
 * dpdkvhostuser port is a server, with its socket in vhost-sock-dir named
 * after the port, and ignores vhost-server-path.  Upstream ignores options
 * that it does not know, so these types do too, rather than refuse a port
 * that tools create for upstream: the keys ignored are appended to
 * 'ignored' (comma separated), for the caller to log.
 *
 * Returns NULL on success, otherwise an error message that the caller must
 * free. */
char *
vhostx_map_options(const char *type, const struct smap *args,
                   struct smap *out, struct ds *ignored)
{
    bool client = !strcmp(type, VHOSTX_UPSTREAM_CLIENT_TYPE);
    bool server = !strcmp(type, VHOSTX_UPSTREAM_SERVER_TYPE);
    const struct smap_node **nodes;

    if (!client && !server) {
        smap_clone(out, args);
        return NULL;
    }

    /* Sorted, so that the log names the ignored keys in a stable order. */
    nodes = smap_sort(args);
    for (size_t i = 0; i < smap_count(args); i++) {
        const struct smap_node *node = nodes[i];

        if (is_vhostx_option(node->key)
            && !(server && !strcmp(node->key, "vhost-server-path"))) {
            smap_add(out, node->key, node->value);
        } else {
            ds_put_format(ignored, "%s%s", ignored->length ? ", " : "",
                          node->key);
        }
    }
    free(nodes);

    if (client) {
        const char *path = smap_get(out, "vhost-server-path");

        if (!path || !path[0]) {
            smap_clear(out);
            return xasprintf("a %s port needs options:vhost-server-path, "
                             "the path of the guest's server socket",
                             type);
        }
    }
    return NULL;
}

void
vhostx_sock_cfg_destroy(struct vhostx_sock_cfg *cfg)
{
    free(cfg->path);
    cfg->path = NULL;
}

/* Returns true if 'a' and 'b' need the same registration with DPDK: same
 * role and path. */
bool
vhostx_sock_cfg_same_socket(const struct vhostx_sock_cfg *a,
                            const struct vhostx_sock_cfg *b)
{
    return (a->client == b->client
            && a->path && b->path && !strcmp(a->path, b->path));
}

void
vhostx_sock_cfg_copy(struct vhostx_sock_cfg *dst,
                     const struct vhostx_sock_cfg *src)
{
    *dst = *src;
    dst->path = nullable_xstrdup(src->path);
}
