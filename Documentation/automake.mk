EXTRA_DIST += \
	Documentation/topics/benchmark.rst \
	Documentation/topics/emc-size.rst \
	Documentation/topics/netdev-vhostx.rst \
	Documentation/topics/vm-testing.rst
