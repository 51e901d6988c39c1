#!/bin/sh
# The X session of a hall screen (run by hallq-display@.service): an X server on the console, no
# desktop; matchbox-window-manager so the app's window covers the whole screen (without a window
# manager SDL leaves 800x600 in a corner); no screen blanking; then `hallq display` full screen.
#
#   display-session.sh DISPLAY_ID
#
# A portrait screen: set HALLQ_ROTATE=left (or right) in /etc/hallq/display.env; the display's
# `orientation = "portrait"` in the hall config then matches what the people see.
set -eu
ID=${1:?usage: display-session.sh DISPLAY_ID}
HALLQ=${HALLQ:-/opt/hallq/venv/bin/hallq}

if [ -z "${DISPLAY:-}" ]; then  # not yet inside X: start one on this console running this script
  exec xinit "$0" "$ID" -- :0 vt1 -nolisten tcp -nocursor -s 0 -dpms
fi

xset s off -dpms 2>/dev/null || true
if [ -n "${HALLQ_ROTATE:-}" ]; then
  xrandr -o "$HALLQ_ROTATE" || echo "display-session: xrandr could not rotate the screen" >&2
fi
matchbox-window-manager -use_titlebar no -use_cursor no &
sleep 1
exec "$HALLQ" display --id "$ID"
