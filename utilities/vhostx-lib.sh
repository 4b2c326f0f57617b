# Copyright (c) 2026 The netdev-vhostx developers.
# Licensed under the Apache License, Version 2.0.
#
# Shell functions shared by the test suites, the demo and the benchmark:
# an OVS sandbox in one directory and dpdk-testpmd virtio-user peers.
# Source it; it defines functions only.  DPDK_TESTPMD names the testpmd
# binary (default: dpdk-testpmd in PATH).

# vhx_sandbox
#
# Points OVS's run, log, database and configuration directories at the
# current directory.
vhx_sandbox () {
    OVS_RUNDIR=$PWD; OVS_LOGDIR=$PWD; OVS_DBDIR=$PWD; OVS_SYSCONFDIR=$PWD
    export OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
}

# vhx_wait_until COMMAND [SECONDS]
#
# Runs COMMAND every 0.1 s until it succeeds or SECONDS (default 30) pass.
vhx_wait_until () {
    vhx_left=$(( ${2:-30} * 10 ))
    while test $vhx_left -gt 0; do
        if eval "$1"; then
            return 0
        fi
        sleep 0.1
        vhx_left=$((vhx_left - 1))
    done
    echo "timed out after ${2:-30} s waiting for: $1" >&2
    return 1
}

# vhx_kill_pidfile FILE
#
# Stops the process whose pid is in FILE, if it still runs: SIGTERM, then
# SIGKILL after 10 s.
vhx_kill_pidfile () {
    test -f "$1" || return 0
    vhx_pid=$(cat "$1")
    kill "$vhx_pid" 2>/dev/null || return 0
    vhx_wait_until "! kill -0 $vhx_pid 2>/dev/null" 10 2>/dev/null \
        || kill -9 "$vhx_pid" 2>/dev/null
    return 0
}

# vhx_free_hugepages
#
# Prints the number of free hugepages of the default size.
vhx_free_hugepages () {
    sed -n 's/^HugePages_Free: *//p' /proc/meminfo
}

# vhx_interactive NAME COMMAND...
#
# Runs COMMAND in the background, reading commands from the FIFO NAME.in,
# which a helper keeps open so that single commands do not close it, and
# writing to NAME.log.  The pids of COMMAND and of the helper are in
# NAME.pid and NAME.holder.pid.
vhx_interactive () {
    vhx_name=$1
    shift
    rm -f "$vhx_name.in" && mkfifo "$vhx_name.in"
    "$@" < "$vhx_name.in" > "$vhx_name.log" 2>&1 &
    echo $! > "$vhx_name.pid"
    (while :; do sleep 1; done) > "$vhx_name.in" &
    echo $! > "$vhx_name.holder.pid"
}

# vhx_testpmd_start NAME SOCKET [VDEV_ARGS] [TESTPMD_ARGS] [LCORES]
#
# Starts dpdk-testpmd, interactive, as a virtio-user peer of the vhost-user
# socket SOCKET.  It reads commands from the FIFO NAME.in, which a helper
# keeps open so that single commands do not close it, and writes to
# NAME.log.  Both of its lcores run on CPU 0 unless LCORES says otherwise,
# so that the OVS PMD can have CPU 1.  Its pid is in NAME.pid.  Its mbuf
# pool is kept small (16384 mbufs unless TESTPMD_ARGS say otherwise): a pool
# spread over more memory segments than vhost-user shares with OVS (8)
# leaves OVS unable to reach some of the peer's rx buffers.
vhx_testpmd_start () {
    vhx_interactive "$1" stdbuf -oL "${DPDK_TESTPMD:-dpdk-testpmd}" \
        --no-pci --single-file-segments --file-prefix="vhx-$1-$$" -m 256 \
        --lcores="${5:-0@0,1@0}" \
        --vdev="net_virtio_user0,path=$2,queue_size=1024$3" \
        -- -i --nb-cores=1 --total-num-mbufs=16384 $4
}

# vhx_testpmd_cmd NAME COMMAND...
#
# Gives COMMAND to testpmd NAME.
vhx_testpmd_cmd () {
    vhx_peer=$1
    shift
    timeout 5 sh -c "echo '$*' > '$vhx_peer.in'"
}

# vhx_testpmd_stop NAME
#
# Quits testpmd NAME, kills it if it does not go, and removes its hugepage
# files.
vhx_testpmd_stop () {
    test -f "$1.pid" || return 0
    vhx_testpmd_cmd "$1" quit 2>/dev/null
    vhx_pid=$(cat "$1.pid")
    vhx_wait_until "! kill -0 $vhx_pid 2>/dev/null" 10 2>/dev/null \
        || kill -9 "$vhx_pid" 2>/dev/null
    vhx_kill_pidfile "$1.holder.pid"
    rm -f "$1.pid" "$1.holder.pid" /dev/hugepages/vhx-"$1"-$$*
}

# vhx_testpmd_stat NAME FIELD
#
# Prints the last value of FIELD (RX-packets, TX-packets, ...) that testpmd
# NAME printed in its statistics.
vhx_testpmd_stat () {
    sed -n "s/.*$2: *\([0-9]*\).*/\1/p" "$1.log" | tail -1
}

# vhx_mbufs_in_use
#
# Prints how many mbufs of all of netdev-vhostx's pools are in use, as
# netdev-vhostx/mempool-show reports them ("N mbufs, N in use, ..." on
# each pool's line).  Fails, printing nothing, if a pool's line has no
# count that it can read, so that a change of that format cannot make a
# leak check pass by reading 0.
vhx_mbufs_in_use () {
    ovs-appctl netdev-vhostx/mempool-show \
        | awk '/ mbufs, / { ok = 0
                            for (i = 2; i < NF; i++) {
                                if ($i == "in" && $(i + 1) == "use,") {
                                    n += $(i - 1); ok = 1
                                }
                            }
                            if (!ok) { bad = 1 } }
               END { if (bad) { exit 1 }; print n + 0 }'
}

# vhx_port_stat BRIDGE PORT rx|tx [pkts|bytes|drop]
#
# Prints a counter of PORT, read from the datapath through OpenFlow.
vhx_port_stat () {
    ovs-ofctl dump-ports "$1" "$2" \
        | grep "$3 pkts=" \
        | sed -n "s/.*[ ,]${4:-pkts}=\([0-9]*\).*/\1/p"
}

# vhx_testpmd_switch_start NAME SOCKET0 SOCKET1 [LCORES]
#
# Starts dpdk-testpmd, interactive, as a switch with two vhost-user server
# ports (net_vhost0 on SOCKET0, net_vhost1 on SOCKET1) that io-forwards
# port 0 <-> port 1: the machine's limit for virtio-user peers, with no
# switch logic in between.  Its main lcore runs on CPU 0 and its
# forwarding lcore on CPU 1 (where the OVS PMD would run) unless LCORES
# says otherwise.  Same files as vhx_testpmd_start, so that
# vhx_testpmd_cmd, vhx_testpmd_stop and vhx_testpmd_counters work on it.
# It runs in a session of its own, as a daemonized ovs-vswitchd does: with
# the kernel's autogroup scheduling, a session's CPU share is split over
# the CPUs its threads load, so a switch sharing the session of peers busy
# on another CPU would get less of its own CPU than ovs-vswitchd gets.
vhx_testpmd_switch_start () {
    vhx_interactive "$1" setsid stdbuf -oL \
        "${DPDK_TESTPMD:-dpdk-testpmd}" --no-pci \
        --single-file-segments --file-prefix="vhx-$1-$$" -m 512 \
        --lcores="${4:-0@0,1@1}" \
        --vdev="net_vhost0,iface=$2,queues=1" \
        --vdev="net_vhost1,iface=$3,queues=1" \
        -- -i --nb-cores=1 --forward-mode=io
}

# vhx_testpmd_counters NAME PORT
#
# Asks testpmd NAME for the statistics of PORT, waits for the answer and
# prints "RX-packets TX-packets RX-bytes TX-bytes".
vhx_testpmd_counters () {
    vhx_n=$(grep -c 'Tx-pps:' "$1.log")
    vhx_testpmd_cmd "$1" "show port stats $2" || return 1
    vhx_wait_until "test \$(grep -c 'Tx-pps:' '$1.log') -gt $vhx_n" 5 \
        || return 1
    awk '/NIC statistics for port/ { n = 1; next }
         n && /RX-packets:/ { rp = $2; rb = $6 }
         n && /TX-packets:/ { tp = $2; tb = $6 }
         END { printf "%.0f %.0f %.0f %.0f\n", rp, tp, rb, tb }' "$1.log"
}

# vhx_testpmd_pair_start NAME SOCKET0 SOCKET1 [VDEV_ARGS] [TESTPMD_ARGS] [LCORES]
#
# As vhx_testpmd_start, but with two virtio-user ports in one testpmd:
# port 0 on SOCKET0 and port 1 on SOCKET1, both with VDEV_ARGS, polled by
# one forwarding lcore.  With two peers on one CPU, one lcore that serves
# both ports in turn does not starve either of them as two processes do.
# It runs in a session of its own, as vhx_testpmd_switch_start says why.
vhx_testpmd_pair_start () {
    vhx_interactive "$1" setsid stdbuf -oL \
        "${DPDK_TESTPMD:-dpdk-testpmd}" --no-pci \
        --single-file-segments --file-prefix="vhx-$1-$$" -m 256 \
        --lcores="${6:-0@0,1@0}" \
        --vdev="net_virtio_user0,path=$2,queue_size=1024$4" \
        --vdev="net_virtio_user1,path=$3,queue_size=1024$4" \
        -- -i --nb-cores=1 $5
}

# vhx_show_counters PORT
#
# Prints, from one 'ovs-appctl netdev-vhostx/show PORT', the time in
# seconds at which OVS read the counters and PORT's counters: "TIME
# RX_PACKETS RX_DROPPED RX_POLICED TX_PACKETS TX_DROPPED TX_POLICED".
vhx_show_counters () {
    ovs-appctl netdev-vhostx/show "$1" | awk '
        /counters-read-us:/ { t = $2 / 1e6 }
        /from guest:/ { rp = $3; rd = $7 }
        /to guest:/ { tp = $3; td = $7 }
        /ovs_rx_qos_drops:/ { rq = $2 }
        /ovs_tx_qos_drops:/ { tq = $2 }
        END { if (!t) exit 1
              printf "%.6f %s %s %s %s %s %s\n", t, rp, rd, rq, tp, td, tq }'
}

# vhx_testpmd_rx_pps NAME [PORT]
#
# Has testpmd NAME show the statistics of PORT (default 0), waits for the
# answer and prints its "Rx-pps": the rate at which the peer received,
# by its own clock, since the previous time it showed them.
vhx_testpmd_rx_pps () {
    vhx_n=$(grep -c 'Rx-pps:' "$1.log")
    vhx_testpmd_cmd "$1" "show port stats ${2:-0}" || return 1
    vhx_wait_until "test \$(grep -c 'Rx-pps:' '$1.log') -gt $vhx_n" 5 \
        || return 1
    awk '/Rx-pps:/ { v = $2 } END { print v + 0 }' "$1.log"
}

# vhx_policer_window PORT rx|tx SECONDS [PEER]
#
# Measures PORT over SECONDS and prints the rates, per second, of what its
# policer in that direction let through, what it dropped, and what was
# dropped for other reasons (a full ring): "ADMITTED POLICED OTHER".  For
# rx, what went through is what OVS received from the guest; for tx, what
# OVS put, or tried to put, on the guest's ring.  With PEER, the testpmd
# that receives what went through, a fourth field: the rate at which PEER
# received over the same window, as PEER measured it.
vhx_policer_window () {
    if test -n "${4:-}"; then
        vhx_testpmd_rx_pps "$4" > /dev/null || return 1
    fi
    vhx_a=$(vhx_show_counters "$1") || return 1
    sleep "$3"
    vhx_b=$(vhx_show_counters "$1") || return 1
    vhx_peer=
    if test -n "${4:-}"; then
        vhx_peer=$(vhx_testpmd_rx_pps "$4") || return 1
    fi
    echo "$vhx_a $vhx_b" | awk -v dir="$2" -v peer="$vhx_peer" '{
        dt = $8 - $1
        if (dir == "rx") {
            ok = $9 - $2; pol = $11 - $4; other = ($10 - $3) - pol
        } else {
            pol = $14 - $7; other = ($13 - $6) - pol; ok = $12 - $5 + other
        }
        printf "%.1f %.1f %.1f", ok / dt, pol / dt, other / dt
        if (peer != "") {
            printf " %.1f", peer
        }
        printf "\n" }'
}

# vhx_rate_within MEASURED EXPECTED PERCENT
#
# Succeeds if MEASURED is within PERCENT of EXPECTED; otherwise says by how
# much it is not.
vhx_rate_within () {
    awk -v m="$1" -v e="$2" -v p="$3" 'BEGIN {
        d = (m - e) / e * 100
        if (d < -p || d > p) {
            printf "rate %.1f is %+.2f%% off %.1f (allowed: %s%%)\n",
                   m, d, e, p
            exit 1
        }
        printf "rate %.1f is %+.2f%% off %.1f\n", m, d, e }'
}

# vhx_check_policer PORT rx|tx EXPECTED_PPS [PERCENT] [SECONDS] [GUEST]
#
# Checks that the policer of PORT in that direction lets EXPECTED_PPS
# packets per second through, within PERCENT (default 2; "UP:DOWN" for
# different bounds above and below), over a window of SECONDS (default
# 2).  A rate above the limit fails at once.  A window in
# which the peer offered less than 5% above the limit does not count (the
# machine did not schedule the peer enough).  With GUEST, the name of the
# testpmd that receives what went through, what counts is what the guest
# received, and a window in which its ring overflowed (the guest did not
# keep up) does not count either; the rate the guest itself measured must
# then be within PERCENT of EXPECTED_PPS too, and within 1% of what OVS
# counted (for rx, OVS must forward all of it to the guest); a third
# window where it is not fails.  Up to five windows are tried.
# Logs every window to policer-rates.log.
vhx_check_policer () {
    vhx_try=0
    while test $vhx_try -lt 5; do
        vhx_try=$((vhx_try + 1))
        vhx_w=$(vhx_policer_window "$1" "$2" "${5:-2}" "${6:-}") \
            || return 1
        set -- "$1" "$2" "$3" "${4:-2}" "${5:-2}" "${6:-}" $vhx_w
        vhx_verdict=$(awk -v e="$3" -v p="$4" -v ok="$7" -v pol="$8" \
                          -v other="$9" -v guest="$6" -v peer="${10:-}" \
                          'BEGIN {
            up = down = p
            if (index(p, ":")) {
                up = substr(p, 1, index(p, ":") - 1)
                down = substr(p, index(p, ":") + 1)
            }
            m = guest != "" ? ok - other : ok
            if (m > e * (1 + up / 100)) { print "over"; exit }
            if (ok + pol < e * 1.05) { print "underfed"; exit }
            if (guest != "" && other > 0) { print "overflow"; exit }
            d = (m - e) / e * 100
            if (d < -down) { print "under"; exit }
            if (guest != "") {
                # The guest counted what OVS did, by its own clock.
                if (peer == "" || peer - m > m / 100 || m - peer > m / 100) {
                    print "peer-disagrees"; exit
                }
                d = (peer - e) / e * 100
                if (d < -down || d > up) { print "peer-off"; exit }
            }
            print "ok" }')
        printf '%s %s limit %s pps: window %d: through %s pps, policed %s ' \
               "$1" "$2" "$3" $vhx_try "$7" "$8" >> policer-rates.log
        printf 'pps, other drops %s pps' "$9" >> policer-rates.log
        if test -n "$6"; then
            printf ', guest %s received %s pps' "$6" "${10:-}" \
                   >> policer-rates.log
        fi
        printf ': %s\n' "$vhx_verdict" >> policer-rates.log
        vhx_m=$7
        if test -n "$6"; then
            vhx_m=$(awk -v a="$7" -v o="$9" 'BEGIN { print a - o }')
        fi
        case $vhx_verdict in
            ok) vhx_rate_within "$vhx_m" "$3" "${4##*:}"; return 0 ;;
            over) vhx_rate_within "$vhx_m" "$3" "${4%%:*}"; return 1 ;;
            peer-*)
                # The guest's and OVS's counters are read a few
                # milliseconds apart, through testpmd's prompt and
                # ovs-appctl: one window may disagree by a little more
                # than 1% when the guest answers late.  A real
                # disagreement shows in every window.
                echo "guest $6 received ${10:-?} pps, OVS counted $vhx_m" \
                     "pps: $vhx_verdict"
                test $vhx_try -lt 3 || return 1
                ;;
        esac
    done
    tail -3 policer-rates.log
    return 1
}
