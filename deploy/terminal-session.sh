#!/bin/sh
# The X session of a window terminal or an evaluator (run by hallq-terminal@.service and
# hallq-evaluator@.service): an X server on the console, no desktop; matchbox-window-manager so the
# app's window covers the whole screen (without a window manager SDL leaves 800x600 in a corner);
# no screen blanking; then the app full screen at the screen's own size.
#
#   terminal-session.sh terminal|evaluator DEVICE_ID
#
# A clerk with a desktop runs the terminal in a window there instead: `hallq terminal --windowed`.
set -eu
APP=${1:?usage: terminal-session.sh terminal|evaluator DEVICE_ID}
ID=${2:?usage: terminal-session.sh terminal|evaluator DEVICE_ID}
HALLQ=${HALLQ:-/opt/hallq/venv/bin/hallq}
case "$APP" in terminal|evaluator) ;; *) echo "terminal-session: unknown app $APP" >&2; exit 2;; esac

if [ -z "${DISPLAY:-}" ]; then  # not yet inside X: start one on this console running this script
  exec xinit "$0" "$APP" "$ID" -- :0 vt1 -nolisten tcp -s 0 -dpms
fi

xset s off -dpms 2>/dev/null || true
SIZE=$(xdpyinfo 2>/dev/null | awk '/dimensions:/ {print $2; exit}')
matchbox-window-manager -use_titlebar no &
sleep 1
exec "$HALLQ" "$APP" --id "$ID" --size "${SIZE:-1280x800}"
