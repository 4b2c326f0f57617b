EXTRA_DIST += \
	Documentation/topics/netdev-vhostx.rst
