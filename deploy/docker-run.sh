#!/bin/sh
# sockscope in a container, looking at the whole host: every network namespace, named after
# its container or pod. --pid host shows the host's processes; / at /host gives the host's
# /proc, /run and the runtimes' state; SYS_ADMIN lets it enter namespaces (setns), SYS_PTRACE
# and DAC_READ_SEARCH read other processes' /proc entries. Docker's default AppArmor profile
# refuses ptrace-style reads of other containers' /proc, hence apparmor=unconfined.
# IMAGE is the image deploy/Dockerfile builds (tests/image.sh runs it this way).
IMAGE=${IMAGE:-sockscope}
# The image runs as nobody by default; entering namespaces takes root with the capabilities.
exec docker run --rm --user 0 --pid host --network none \
  --cap-drop ALL --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cap-add DAC_READ_SEARCH \
  --security-opt apparmor=unconfined \
  -v /:/host:ro,rslave \
  "$IMAGE" --all-netns --host-root /host "$@"
