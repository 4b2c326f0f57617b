EXTRA_DIST += \
	Documentation/topics/benchmark.rst \
	Documentation/topics/netdev-vhostx.rst
