#!/usr/bin/env bash
# Install hallq on a Debian/Ubuntu machine: the hall server (by default) or a device (--device).
#
#   sudo deploy/install.sh --config my-hall.toml --host hall-server.lan [--san 192.168.10.2 ...]
#   sudo deploy/install.sh --device --host hall-server.lan
#   deploy/install.sh --download DIR [--python-version 3.11] [--platform manylinux2014_aarch64 ...]
#   sudo deploy/install.sh --from DIR ...          (either of the first two, with no network at all)
#
# The hall server: Mosquitto locked down with per-device passwords, ACLs and TLS, the hall server,
# the nightly backup of its store, and chrony serving the hall's time to the LAN, all as systemd
# units. A device: hallq with its screen and hardware extras, and chrony following the hall's
# clock; its env file and the hall's CA come from the hall server (docs/deploying.md).
#
#   --config FILE  the hall config to install as /etc/hallq/hall.toml (kept if already there and
#                  no --config is given; first install without one: the small example hall)
#   --host NAME    the hall server's name, which devices use to reach it (default: hostname -f);
#                  with --device: the hall server whose clock the device follows (required)
#   --san X        one more name or IP address for the server certificate (repeatable)
#   --device       install a device (kiosk, display, terminal, bridge), not the hall server
#   --download DIR on a machine with the internet: fill DIR with hallq's wheel, every wheel the
#                  hall server and the devices need (DIR/wheels) and the Debian packages with all
#                  their dependencies (DIR/debs). No root needed. The wheels are for the target's
#     --python-version X.Y   Python (default: this machine's python3) and
#     --platform TAG         architecture (a pip platform tag, repeatable; default: this machine's),
#                            e.g. --platform manylinux2014_aarch64 for an ARM64 device.
#                  The Debian packages are those of this machine's release and architecture: run
#                  --download on a machine like the target (docs/deploying.md).
#   --from DIR     install from DIR (made by --download) with no network: no apt-get update, pip
#                  with --no-index. Copy this checkout and DIR to the target.
#   --python-only  only install hallq into the venv (an upgrade of hallq alone)
#   --venv DIR     where hallq goes (default /opt/hallq/venv)
#   --python PY    the Python that makes the venv (default python3)
#   --no-start     install and enable, but do not start the services
#   --dry-run      print what would be done, change nothing
#
# Run it again after changing the config: it updates the broker's passwords/ACLs (printing what
# changed), keeps every existing password and the CA, and restarts what needs it.
# What goes where: docs/deploying.md.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ETC=/etc/hallq
BROKER_DIR=$ETC/broker
UNITS=/etc/systemd/system
BACKUPS=/var/backups/hallq
CHRONY_DIR=/etc/chrony/conf.d
VENV=/opt/hallq/venv
PYTHON=python3
CONFIG="" HOST="" START=1 DRY=0 ROLE=hall DOWNLOAD="" FROM="" PYTHON_ONLY=0 PY_VERSION=""
SANS=() PLATFORMS=()

# The Debian packages each kind of machine needs (those missing are installed).
HALL_PACKAGES=(mosquitto openssl python3-venv chrony)
# A device: the Chinese font its screens and tickets use, Kivy's touch library, the voice.
DEVICE_PACKAGES=(python3-venv chrony fonts-wqy-microhei libmtdev1 espeak-ng)
# The extras a device needs on top of the hall server's dependencies.
DEVICE_EXTRAS="[hardware,screens]"

while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --san) SANS+=("$2"); shift 2 ;;
    --device) ROLE=device; shift ;;
    --download) DOWNLOAD=$2; shift 2 ;;
    --python-version) PY_VERSION=$2; shift 2 ;;
    --platform) PLATFORMS+=("$2"); shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    --python-only) PYTHON_ONLY=1; shift ;;
    --venv) VENV=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
    --no-start) START=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

run() {  # run CMD...: do it, or only say it under --dry-run
  if [ "$DRY" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}
step() { echo "== $*"; }
fail() { echo "install.sh: $*" >&2; exit 2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

HALLQ_VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SRC/pyproject.toml" | head -n 1)
HALLQ_WHEEL=hallq-$HALLQ_VERSION-py3-none-any.whl

# --- --download DIR: everything an install needs, for a hall LAN without the internet ----------
if [ -n "$DOWNLOAD" ]; then
  [ -z "$FROM" ] || fail "--download and --from do not go together"
  run mkdir -p "$DOWNLOAD/wheels" "$DOWNLOAD/debs"
  DOWNLOAD=$(cd "$DOWNLOAD" 2>/dev/null && pwd || echo "$DOWNLOAD")
  step "hallq's own wheel ($HALLQ_WHEEL) into $DOWNLOAD/wheels"
  run "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$DOWNLOAD/wheels" "$SRC"
  step "every wheel the hall server and the devices need, for the target's Python and architecture"
  target=()
  [ -n "$PY_VERSION" ] && target+=(--python-version "$PY_VERSION")
  for platform in "${PLATFORMS[@]}"; do target+=(--platform "$platform"); done
  # Wheels only: the target has no compiler and no network to fetch build tools.
  run "$PYTHON" -m pip download --quiet --only-binary=:all: "${target[@]}" \
    --dest "$DOWNLOAD/wheels" "$DOWNLOAD/wheels/$HALLQ_WHEEL$DEVICE_EXTRAS"
  step "the Debian packages of the hall server and the devices, with every dependency, into $DOWNLOAD/debs"
  # Every package they need, down to libc: the target may have none of them.
  mapfile -t debs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "${HALL_PACKAGES[@]}" "${DEVICE_PACKAGES[@]}" \
    | grep '^[a-z0-9]' | sort -u)
  [ ${#debs[@]} -gt 0 ] || fail "apt-cache knows none of ${HALL_PACKAGES[*]}: run apt-get update first"
  if [ "$DRY" = 1 ]; then
    run cd "$DOWNLOAD/debs"
    run apt-get download "${debs[@]}"
  else
    (cd "$DOWNLOAD/debs" && apt-get download "${debs[@]}")
  fi
  cat <<EOF

Done: $DOWNLOAD holds wheels/ and debs/. Copy it and this checkout to the hall's machines, then:
  hall server:  sudo deploy/install.sh --from DIR --config my-hall.toml --host hall-server.lan
  each device:  sudo deploy/install.sh --from DIR --device --host hall-server.lan
EOF
  exit 0
fi

if [ -n "$FROM" ]; then
  [ -d "$FROM/wheels" ] || fail "$FROM has no wheels/ folder: make it with --download $FROM"
  FROM=$(cd "$FROM" && pwd)
fi
if [ "$DRY" = 0 ] && [ "$(id -u)" -ne 0 ] && { [ "$PYTHON_ONLY" = 0 ] || [ "$VENV" = /opt/hallq/venv ]; }; then
  fail "run it as root (sudo), or with --dry-run to see what it does"
fi
if [ -n "$CONFIG" ] && [ ! -f "$CONFIG" ]; then
  fail "no config file $CONFIG"
fi
if [ "$ROLE" = device ] && [ -z "$HOST" ] && [ "$PYTHON_ONLY" = 0 ]; then
  fail "--device needs --host: the hall server whose clock the device follows"
fi
HOST=${HOST:-$(hostname -f 2>/dev/null || hostname)}

if [ "$ROLE" = device ]; then
  PACKAGES=("${DEVICE_PACKAGES[@]}") EXTRAS=$DEVICE_EXTRAS
else
  PACKAGES=("${HALL_PACKAGES[@]}") EXTRAS=""
fi

install_debian_packages() {
  step "Debian packages (only the missing ones)${FROM:+, from $FROM/debs}"
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ -z "$FROM" ]; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    return 0
  fi
  # Offline: hand apt the downloaded files of every package not installed yet; apt orders them
  # and takes the rest of each dependency from what is installed.
  local files=() deb
  for deb in "$FROM"/debs/*.deb; do
    [ -e "$deb" ] || continue
    installed "$(dpkg-deb -f "$deb" Package)" || files+=("$deb")
  done
  [ ${#files[@]} -gt 0 ] || fail "$FROM/debs lacks ${missing[*]}: make it again with --download"
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    --no-download "${files[@]}"
}

install_hallq() {
  step "hallq$EXTRAS into $VENV${FROM:+, from $FROM/wheels}"
  [ -x "$VENV/bin/python" ] || run "$PYTHON" -m venv "$VENV"
  if [ -n "$FROM" ]; then
    # Only DIR: no index, and no pip configuration of this machine adds one.
    run env PIP_CONFIG_FILE=/dev/null "$VENV/bin/pip" install --quiet --no-index \
      --find-links "$FROM/wheels" --force-reinstall "hallq$EXTRAS"
  else
    run "$VENV/bin/pip" install --quiet --upgrade "$SRC$EXTRAS"
  fi
}

if [ "$PYTHON_ONLY" = 1 ]; then
  install_hallq
  echo "Done: $VENV/bin/hallq"
  exit 0
fi

install_debian_packages

if [ "$ROLE" = device ]; then
  install_hallq
  step "chrony: this device follows the hall server's clock ($HOST)"
  run install -d -m 755 "$CHRONY_DIR"
  if [ "$DRY" = 1 ]; then
    run sed "s/@HALL@/$HOST/" "$SRC/deploy/chrony/hallq-device.conf" ">" "$CHRONY_DIR/hallq.conf"
  else
    sed "s/@HALL@/$HOST/" "$SRC/deploy/chrony/hallq-device.conf" >"$CHRONY_DIR/hallq.conf"
  fi
  run systemctl enable chrony.service
  [ "$START" = 1 ] && run systemctl restart chrony.service
  step "the screen apps' session and units (enabled by hand: which app this machine runs)"
  run install -d -m 755 /opt/hallq/deploy
  run install -m 755 "$SRC/deploy/screen-session.sh" /opt/hallq/deploy/screen-session.sh
  run install -m 644 "$SRC"/deploy/systemd/hallq-*@.service "$SRC/deploy/systemd/hallq-announcer.service" "$UNITS/"
  cat <<EOF

Done: hallq is $VENV/bin/hallq; the clock follows $HOST (chronyc sources).
Then enable what this machine is: systemctl enable --now hallq-kiosk@k01 (or hallq-display@ID),
then: this device needs two files from the hall server (copy them over a trusted channel):
  /etc/hallq/broker/env/<device id>.env  ->  /etc/hallq/hallq.env on this device (mode 600)
  /etc/hallq/broker/tls/ca.crt           ->  /etc/hallq/ca.crt on this device
EOF
  exit 0
fi

# Debian's own broker would take port 1883 with an open configuration: hallq-broker replaces it.
if systemctl list-unit-files mosquitto.service >/dev/null 2>&1; then
  run systemctl disable --now mosquitto.service || true
fi

step "user hallq (runs the hall server; owns /var/lib/hallq and $BACKUPS)"
if ! getent passwd hallq >/dev/null; then
  run adduser --system --group --home /var/lib/hallq --no-create-home hallq
fi

install_hallq
HALLQ=$VENV/bin/hallq
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

step "chrony: the hall serves its time to the LAN, also without an upstream server"
run install -d -m 755 "$CHRONY_DIR"
run install -m 644 "$SRC/deploy/chrony/hallq-hall.conf" "$CHRONY_DIR/hallq.conf"

step "the nightly backup: $BACKUPS/hall-YYYY-MM-DD.sqlite3, kept 14 days"
run install -d -m 750 -o hallq -g hallq "$BACKUPS"

step "systemd units"
run install -m 644 "$SRC/deploy/systemd/hallq-broker.service" "$SRC/deploy/systemd/hallq-server.service" \
  "$SRC/deploy/systemd/hallq-backup.service" "$SRC/deploy/systemd/hallq-backup.timer" "$UNITS/"
run systemctl daemon-reload
run systemctl enable hallq-broker.service hallq-server.service hallq-backup.timer chrony.service
if [ "$START" = 1 ]; then
  # restart, not start: a second run must pick up a new mosquitto.conf and a new hall config.
  run systemctl restart hallq-broker.service
  run systemctl restart hallq-server.service
  run systemctl restart chrony.service
  run systemctl start hallq-backup.timer
fi

cat <<EOF

Done. The hall server is hallq-server.service, the broker hallq-broker.service:
  systemctl status hallq-server hallq-broker      journalctl -u hallq-server -f
The store is copied every night to $BACKUPS (systemctl list-timers hallq-backup.timer);
chrony serves this machine's time to the LAN (chronyc clients).
Each device needs two files from this machine (copy them over a trusted channel):
  $BROKER_DIR/env/<device id>.env  ->  /etc/hallq/hallq.env on the device (mode 600)
  $BROKER_DIR/tls/ca.crt          ->  /etc/hallq/ca.crt on the device
Move $BROKER_DIR/tls/ca.key off this machine once the certificate is made (docs/deploying.md).
EOF
