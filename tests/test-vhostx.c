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
 *   test-vhostx sock-path DIR NAME
 *   test-vhostx options NAME SOCK_DIR [KEY=VALUE]...
 *
 * Prints the result, or "error: " and the message, which exits 1. */

#include <config.h>

#include <stdio.h>
#include <string.h>

#include "netdev-vhostx/vhostx-private.h"
#include "smap.h"
#include "util.h"

static int
report(char *error, char *result)
{
    if (error) {
        printf("error: %s\n", error);
        free(error);
        return 1;
    }
    printf("%s\n", result);
    free(result);
    return 0;
}

int
main(int argc, char *argv[])
{
    char *result;

    set_program_name(argv[0]);
    if (argc == 3 && !strcmp(argv[1], "check-name")) {
        return report(vhostx_check_port_name(argv[2]), xstrdup("ok"));
    } else if ((argc == 3 || argc == 4) && !strcmp(argv[1], "sock-dir")) {
        char *error = vhostx_sock_dir_from_config(argv[2],
                                                  argc == 4 ? argv[3] : NULL,
                                                  &result);
        return report(error, result);
    } else if (argc == 4 && !strcmp(argv[1], "sock-path")) {
        char *error = vhostx_server_sock_path(argv[2], argv[3], &result);

        return report(error, result);
    } else if (argc >= 4 && !strcmp(argv[1], "options")) {
        struct vhostx_sock_cfg cfg;
        struct smap args = SMAP_INITIALIZER(&args);
        char *error;

        for (int i = 4; i < argc; i++) {
            char *key = xstrdup(argv[i]);
            char *value = strchr(key, '=');

            if (!value) {
                ovs_fatal(0, "%s: not KEY=VALUE", argv[i]);
            }
            *value++ = '\0';
            smap_replace(&args, key, value);
            free(key);
        }
        error = vhostx_parse_options(argv[2], &args, argv[3], &cfg);
        smap_destroy(&args);
        if (!error) {
            result = xasprintf("role=%s path=%s group=%d mode=%04o "
                               "tx-retries-max=%d",
                               cfg.client ? "client" : "server", cfg.path,
                               cfg.gid == (gid_t) -1 ? -1 : (int) cfg.gid,
                               cfg.mode, cfg.tx_retries_max);
            vhostx_sock_cfg_destroy(&cfg);
        }
        return report(error, result);
    }
    ovs_fatal(0, "usage: %s check-name NAME | sock-dir RUNDIR [VALUE] | "
              "sock-path DIR NAME | options NAME SOCK_DIR [KEY=VALUE]...",
              program_name);
}
