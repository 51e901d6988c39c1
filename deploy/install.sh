#!/usr/bin/env bash
# Install a hall server on a Debian/Ubuntu machine: Mosquitto locked down with per-device
# passwords, ACLs and TLS, and the hall server, both as systemd services.
#
#   sudo deploy/install.sh --config my-hall.toml --host hall-server.lan [--san 192.168.10.2 ...]
#
#   --config FILE  the hall config to install as /etc/hallq/hall.toml (kept if already there and
#                  no --config is given; first install without one: the small example hall)
#   --host NAME    the name devices use to reach this machine (default: hostname -f)
#   --san X        one more name or IP address for the server certificate (repeatable)
#   --no-start     install and enable, but do not start the services
#   --dry-run      print what would be done, change nothing
#
# Run it again after changing the config: it updates the broker's passwords/ACLs (printing what
# changed), keeps every existing password and the CA, and restarts what needs it.
# What goes where: docs/deploying.md.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/hallq
ETC=/etc/hallq
BROKER_DIR=$ETC/broker
UNITS=/etc/systemd/system
CONFIG="" HOST="" START=1 DRY=0
SANS=()

while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --san) SANS+=("$2"); shift 2 ;;
    --no-start) START=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
HOST=${HOST:-$(hostname -f 2>/dev/null || hostname)}

run() {  # run CMD...: do it, or only say it under --dry-run
  if [ "$DRY" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}
step() { echo "== $*"; }

if [ "$DRY" = 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run it as root (sudo), or with --dry-run to see what it does" >&2
  exit 2
fi
if [ -n "$CONFIG" ] && [ ! -f "$CONFIG" ]; then
  echo "install.sh: no config file $CONFIG" >&2
  exit 2
fi

step "Debian packages (only the missing ones)"
missing=()
for pkg in mosquitto openssl python3-venv; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's own broker would take port 1883 with an open configuration: hallq-broker replaces it.
if systemctl list-unit-files mosquitto.service >/dev/null 2>&1; then
  run systemctl disable --now mosquitto.service || true
fi

step "user hallq (runs the hall server; owns /var/lib/hallq)"
if ! getent passwd hallq >/dev/null; then
  run adduser --system --group --home /var/lib/hallq --no-create-home hallq
fi

step "hallq into $PREFIX/venv (the hall server needs no screen or hardware extras)"
[ -x "$PREFIX/venv/bin/python" ] || run python3 -m venv "$PREFIX/venv"
run "$PREFIX/venv/bin/pip" install --quiet --upgrade "$SRC"
HALLQ=$PREFIX/venv/bin/hallq
[ "$DRY" = 1 ] && [ ! -x "$HALLQ" ] && HALLQ="$SRC/.venv/bin/hallq"

step "the hall config: $ETC/hall.toml"
run install -d -m 755 "$ETC"
if [ -n "$CONFIG" ]; then
  run "$HALLQ" check-config --config "$CONFIG"
  run install -m 644 "$CONFIG" "$ETC/hall.toml"
elif [ ! -f "$ETC/hall.toml" ]; then
  echo "   no --config: installing the small example hall; edit it, then run install.sh again"
  run install -m 644 "$SRC/deploy/examples/small-hall.toml" "$ETC/hall.toml"
fi

step "TLS: the hall CA and the broker's certificate for $HOST ${SANS[*]:-}"
run install -d -m 750 "$BROKER_DIR" "$BROKER_DIR/tls"
run bash "$SRC/broker_config/make-ca.sh" "$BROKER_DIR/tls" "$HOST" "${SANS[@]}"

step "broker accounts, ACLs and device credentials: $BROKER_DIR"
run "$HALLQ" broker-config --config "$ETC/hall.toml" --out "$BROKER_DIR" --host "$HOST" \
  --device-ca /etc/hallq/ca.crt --persistence /var/lib/hallq-broker
# The broker runs as mosquitto: it reads passwd, acl and the server key through its group. The
# secrets, the env files and the CA key stay root's alone.
run chgrp mosquitto "$BROKER_DIR" "$BROKER_DIR/passwd" "$BROKER_DIR/acl" "$BROKER_DIR/mosquitto.conf" \
  "$BROKER_DIR/tls" "$BROKER_DIR/tls/server.key" "$BROKER_DIR/tls/server.crt" "$BROKER_DIR/tls/ca.crt"
run chmod 750 "$BROKER_DIR" "$BROKER_DIR/tls"

step "systemd units"
run install -m 644 "$SRC/deploy/systemd/hallq-broker.service" "$SRC/deploy/systemd/hallq-server.service" "$UNITS/"
run systemctl daemon-reload
run systemctl enable hallq-broker.service hallq-server.service
if [ "$START" = 1 ]; then
  # restart, not start: a second run must pick up a new mosquitto.conf and a new hall config.
  run systemctl restart hallq-broker.service
  run systemctl restart hallq-server.service
fi

cat <<EOF

Done. The hall server is hallq-server.service, the broker hallq-broker.service:
  systemctl status hallq-server hallq-broker      journalctl -u hallq-server -f
Each device needs two files from this machine (copy them over a trusted channel):
  $BROKER_DIR/env/<device id>.env  ->  /etc/hallq/hallq.env on the device (mode 600)
  $BROKER_DIR/tls/ca.crt          ->  /etc/hallq/ca.crt on the device
Move $BROKER_DIR/tls/ca.key off this machine once the certificate is made (docs/deploying.md).
EOF
