"""deploy/install.sh for a hall LAN without the internet: `--download DIR` on a connected machine,
`--from DIR` on the hall's, with no network at all.

The Python part runs for real inside a network namespace with no interface: DIR is filled, also
with no network, from hallq's own wheel (built from this checkout with the build tools
tools/bootstrap.sh keeps) and the dependency wheels tools/bootstrap.sh keeps in .venv/wheels; then
install.sh puts hallq into a fresh venv from DIR alone, and `hallq --help` runs from it. The system
part (Debian packages, units) and `--download` run with --dry-run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.parts import missing, require_program

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "install.sh"
# No pip configuration of this machine (an index, a find-links folder) may take part; set inside
# the command, since sudo would drop it from the environment.
NO_PIP_CONFIG = ["env", f"PIP_CONFIG_FILE={os.devnull}"]
NOT_SOURCE = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")
NOT_SOURCE += (".demo", "artifacts", "var")


def kept_wheels() -> Path:
    """The folder of wheels tools/bootstrap.sh keeps: this checkout's .venv, or the running one's."""
    for folder in (ROOT / ".venv" / "wheels", Path(sys.prefix) / "wheels"):
        if any(folder.glob("paho_mqtt-*.whl")) and any(folder.glob("setuptools-*.whl")):
            return folder
    missing("the wheels tools/bootstrap.sh keeps (.venv/wheels)", "run make setup")
    raise AssertionError("unreachable")


def no_network() -> list[str]:
    """The prefix that runs a command in a new network namespace: no interface but a down lo.
    As root directly; else in a user namespace of its own, else through sudo without a password."""
    unshare = require_program("unshare", "util-linux")
    candidates = (
        [[unshare, "--net"]]
        if os.geteuid() == 0
        else [[unshare, "--map-root-user", "--net"], ["sudo", "-n", unshare, "--net"]]
    )
    errors = []
    for prefix in candidates:
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return prefix
        errors.append(probe.stderr.strip())
    missing("a network namespace (unshare --net)", f"run as root: {'; '.join(errors)}")
    raise AssertionError("unreachable")


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        **kwargs,  # type: ignore[call-overload]
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


# 12 s on an idle 2-core machine, up to a minute under a heavy load: a venv, a build, an install.
@pytest.mark.slow
def test_install_from_a_folder_with_no_network(tmp_path: Path) -> None:
    wheels_kept = kept_wheels()
    offline = no_network()
    interfaces = run([*offline, "cat", "/proc/net/dev"]).stdout.splitlines()[2:]
    assert [line.split(":")[0].strip() for line in interfaces] == ["lo"]

    kit = tmp_path / "kit"
    (kit / "wheels").mkdir(parents=True)
    # hallq's own wheel, built with no network: build tools from the kept wheels, no index; from a
    # copy of the checkout, since setuptools leaves build/ and *.egg-info where it builds.
    source = tmp_path / "hallq-src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"]
    wheel += ["--find-links", str(wheels_kept), "--wheel-dir", str(kit / "wheels"), str(source)]
    run([*offline, *NO_PIP_CONFIG, *wheel])
    assert len(list((kit / "wheels").glob("hallq-*.whl"))) == 1
    for wheel in wheels_kept.glob("*.whl"):
        if not wheel.name.startswith("hallq-"):
            shutil.copy(wheel, kit / "wheels")

    # The Python part of an install, from the kit alone, in the namespace with no network.
    venv = tmp_path / "venv"
    install = ["bash", str(INSTALL), "--from", str(kit), "--python-only", "--venv", str(venv)]
    done = run([*offline, *NO_PIP_CONFIG, *install, "--python", sys.executable])
    assert "--no-index" not in done.stdout  # not a dry run: it did it
    helped = run([str(venv / "bin" / "hallq"), "--help"], env={"PATH": os.environ["PATH"]})
    for command in ("server", "backup", "broker-config"):
        assert command in helped.stdout
    # The hall server's install: no screen or device libraries.
    assert not list(venv.glob("lib/python*/site-packages/kivy"))
    assert list(venv.glob("lib/python*/site-packages/paho"))


def fake_deb(folder: Path, package: str) -> Path:
    """A real (empty) Debian package file, so that install.sh can read its name."""
    build = folder / f"{package}-build"
    (build / "DEBIAN").mkdir(parents=True)
    (build / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 0.0-test\nArchitecture: all\n"
        "Maintainer: hallq tests <tests@invalid>\nDescription: test\n"
    )
    deb = folder / f"{package}_0.0-test_all.deb"
    run([require_program("dpkg-deb", "dpkg"), "--build", str(build), str(deb)])
    shutil.rmtree(build)
    return deb


def test_install_from_folder_dry_run_uses_no_network(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    (kit / "wheels").mkdir(parents=True)
    (kit / "debs").mkdir()
    fake_deb(kit / "debs", "hallq-test-not-installed")
    out = run(
        ["bash", str(INSTALL), "--dry-run", "--from", str(kit), "--host", "hall.lan"], cwd=ROOT
    ).stdout
    assert "apt-get update" not in out
    pip = next(line for line in out.splitlines() if "/pip install" in line)
    assert f"--no-index --find-links {kit}/wheels" in pip and "PIP_CONFIG_FILE=/dev/null" in pip
    if "apt-get install" in out:  # some package of the hall server is missing on this machine
        apt = next(line for line in out.splitlines() if "apt-get install" in line)
        assert "--no-download" in apt and "hallq-test-not-installed_0.0-test_all.deb" in apt
    for expected in [
        "install -m 644 " + str(ROOT / "deploy/chrony/hallq-hall.conf") + " /etc/chrony/conf.d/hallq.conf",
        "hallq-backup.timer",
        "install -d -m 750 -o hallq -g hallq /var/backups/hallq",
    ]:  # fmt: skip
        assert expected in out, out

    device = run(
        ["bash", str(INSTALL), "--dry-run", "--from", str(kit), "--device", "--host", "hall.lan"]
    ).stdout
    assert "hallq\\[hardware\\,screens\\]" in device
    assert "s/@HALL@/hall.lan/" in device
    assert "mosquitto" not in device.replace("mosquitto.conf", "")


def test_download_dry_run_names_every_wheel_and_package(tmp_path: Path) -> None:
    require_program("apt-cache", "apt")
    kit = tmp_path / "kit"
    out = run(
        ["bash", str(INSTALL), "--dry-run", "--download", str(kit),
         "--python-version", "3.11", "--platform", "manylinux2014_aarch64"],
    ).stdout  # fmt: skip
    assert f"pip wheel --quiet --no-deps --wheel-dir {kit}/wheels {ROOT}" in out
    download = next(line for line in out.splitlines() if "pip download" in line)
    assert "--only-binary=:all: --python-version 3.11 --platform manylinux2014_aarch64" in download
    assert f"--dest {kit}/wheels {kit}/wheels/hallq-" in download
    assert "\\[hardware\\,screens\\]" in download  # the devices' extras too
    packages = next(line for line in out.splitlines() if "apt-get download" in line).split()
    for package in ("mosquitto", "chrony", "openssl", "fonts-wqy-microhei", "libc6"):
        assert package in packages
    assert not kit.exists()  # a dry run changes nothing


def test_device_install_needs_the_hall() -> None:
    done = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", "--device"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--host" in done.stderr


def test_the_hall_serves_time_and_devices_follow_it() -> None:
    def directives(name: str) -> list[str]:
        text = (ROOT / "deploy" / "chrony" / name).read_text()
        return [line for line in text.splitlines() if line and not line.startswith("#")]

    hall = directives("hallq-hall.conf")
    assert "local stratum 10" in hall  # serves its own clock when it reaches no upstream server
    assert {"allow 10.0.0.0/8", "allow 172.16.0.0/12", "allow 192.168.0.0/16"} <= set(hall)
    device = directives("hallq-device.conf")
    assert "server @HALL@ iburst prefer" in device and "makestep 1 -1" in device
    chronyd = shutil.which("chronyd") or "/usr/sbin/chronyd"
    if os.access(chronyd, os.X_OK):  # where chrony is installed, it parses both
        for name in ("hallq-hall.conf", "hallq-device.conf"):
            text = (ROOT / "deploy" / "chrony" / name).read_text().replace("@HALL@", "hall.lan")
            done = subprocess.run([chronyd, "-p", "-f", "/dev/stdin"], input=text,
                                  capture_output=True, text=True, check=False)  # fmt: skip
            assert done.returncode == 0, done.stderr
