#!/bin/sh
# The X session of a hallq screen app (run by hallq-display@, hallq-kiosk@ … .service): an X server
# on the console, no desktop; matchbox-window-manager so the app's window covers the whole screen
# (without a window manager SDL leaves 800x600 in a corner); no screen blanking, no cursor, no
# switching away from the console; then the app full screen.
#
#   screen-session.sh APP DEVICE_ID        (APP: display, kiosk, terminal, evaluator, monitor)
#
# A portrait screen: set HALLQ_ROTATE=left (or right) in /etc/hallq/screen.env; the device's
# orientation in the hall config then matches what people see.
set -eu
APP=${1:?usage: screen-session.sh APP DEVICE_ID}
ID=${2:?usage: screen-session.sh APP DEVICE_ID}
HALLQ=${HALLQ:-/opt/hallq/venv/bin/hallq}

case "$APP" in
  display|kiosk|evaluator) CURSOR=-nocursor ;;  # touch or nothing: no pointer on the screen
  terminal|monitor) CURSOR= ;;                  # a clerk's or an operator's mouse
  *) echo "screen-session: unknown app $APP" >&2; exit 2 ;;
esac

if [ -z "${DISPLAY:-}" ]; then  # not yet inside X: start one on this console running this script
  exec xinit "$0" "$APP" "$ID" -- :0 vt1 -nolisten tcp $CURSOR -novtswitch -s 0 -dpms
fi

xset s off -dpms 2>/dev/null || true
if [ -n "${HALLQ_ROTATE:-}" ]; then
  xrandr -o "$HALLQ_ROTATE" || echo "screen-session: xrandr could not rotate the screen" >&2
fi
matchbox-window-manager -use_titlebar no &
sleep 1
case "$APP" in
  terminal|evaluator)  # these draw at the size they are given: the screen's own
    SIZE=$(xdpyinfo 2>/dev/null | awk '/dimensions:/ {print $2; exit}')
    exec "$HALLQ" "$APP" --id "$ID" --size "${SIZE:-1280x800}" ;;
  *) exec "$HALLQ" "$APP" --id "$ID" ;;
esac
