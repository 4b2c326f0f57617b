lib_LIBRARIES += netdev-vhostx/libnetdev-vhostx.a
netdev_vhostx_libnetdev_vhostx_a_SOURCES = \
	netdev-vhostx/netdev-vhostx.c \
	netdev-vhostx/vhostx-appctl.c \
	netdev-vhostx/vhostx-config.c \
	netdev-vhostx/vhostx-events.c \
	netdev-vhostx/vhostx-policer.c \
	netdev-vhostx/vhostx-private.h \
	netdev-vhostx/vhostx-reconnect.c \
	netdev-vhostx/vhostx-recover.c \
	netdev-vhostx/vhostx-rxtx.c \
	netdev-vhostx/vhostx-socket.c \
	netdev-vhostx/vhostx-stats.c \
	netdev-vhostx/vhostx-upstream.c
EXTRA_DIST += netdev-vhostx/netdev-vhostx-unixctl.man
