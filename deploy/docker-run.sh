#!/bin/sh
# sockscope in a container, looking at the whole host: every network namespace, named after
# its container or pod. --pid host shows the host's processes; / at /host gives the host's
# /proc, /run and the runtimes' state; SYS_ADMIN lets it enter namespaces (setns), SYS_PTRACE
# and DAC_READ_SEARCH read other processes' /proc entries. Docker's default AppArmor profile
# refuses ptrace-style reads of other containers' /proc, hence apparmor=unconfined.
# IMAGE is the image deploy/Dockerfile builds (tests/image.sh runs it this way).
#
# For node_exporter's textfile collector, TEXTFILE=1 also mounts its directory writable, at
# the same path (Debian's prometheus-node-exporter reads /var/lib/prometheus/node-exporter):
#   TEXTFILE=1 deploy/docker-run.sh check --format prometheus \
#     --textfile /var/lib/prometheus/node-exporter/sockscope.prom
IMAGE=${IMAGE:-sockscope}
TEXTFILE_DIR=/var/lib/prometheus/node-exporter
TEXTFILE_MOUNT=
[ "${TEXTFILE:-0}" = 1 ] && TEXTFILE_MOUNT="$TEXTFILE_DIR:$TEXTFILE_DIR"
# The image runs as nobody by default; entering namespaces takes root with the capabilities.
exec docker run --rm --user 0 --pid host --network none \
  --cap-drop ALL --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cap-add DAC_READ_SEARCH \
  --security-opt apparmor=unconfined \
  -v /:/host:ro,rslave ${TEXTFILE_MOUNT:+-v "$TEXTFILE_MOUNT"} \
  "$IMAGE" --all-netns --host-root /host "$@"
