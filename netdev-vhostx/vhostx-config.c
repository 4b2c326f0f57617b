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

#include <string.h>

#include "vhostx-private.h"
#include "util.h"

/* Returns true if 'path' has a ".." component. */
static bool
has_dotdot_component(const char *path)
{
    const char *p = path;

    while ((p = strstr(p, "..")) != NULL) {
        bool starts = p == path || p[-1] == '/';
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
    if (strlen(path) >= VHOSTX_SUN_PATH_MAX) {
        error = xasprintf("socket path '%s' is %"PRIuSIZE" bytes long, but "
                          "a UNIX socket path holds at most %"PRIuSIZE,
                          path, strlen(path), VHOSTX_SUN_PATH_MAX - 1);
        free(path);
        return error;
    }
    *pathp = path;
    return NULL;
}
