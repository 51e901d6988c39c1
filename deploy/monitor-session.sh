#!/bin/sh
# The X session of a monitoring-room screen (run by hallq-monitor@.service): an X server on the
# console with a pointer (the operator clicks or touches), no desktop; matchbox-window-manager so the
# window covers the whole screen; no screen blanking; then `hallq monitor` full screen.
#
#   monitor-session.sh OPERATOR_ID
set -eu
ID=${1:?usage: monitor-session.sh OPERATOR_ID}
HALLQ=${HALLQ:-/opt/hallq/venv/bin/hallq}

if [ -z "${DISPLAY:-}" ]; then  # not yet inside X: start one on this console running this script
  exec xinit "$0" "$ID" -- :0 vt1 -nolisten tcp -s 0 -dpms
fi

xset s off -dpms 2>/dev/null || true
matchbox-window-manager -use_titlebar no &
sleep 1
exec "$HALLQ" monitor --id "$ID"
