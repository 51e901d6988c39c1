"""Links to a printer: USB, serial, network (port 9100), file or device node.

Each moves bytes only (python-escpos's connector classes open the device and write; reads have
a deadline, so a silent printer never blocks a kiosk). Vendor exceptions are wrapped here into
the printer errors.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import stat
import time
import tty
from typing import Any, Protocol

from contract.settings.printer import PrinterConfig
from hardware.printer import _escpos
from hardware.printer.errors import PrinterOffline, PrintTimeout

log = logging.getLogger(__name__)


class Link(Protocol):
    name: str
    can_read: bool  # False: a write-only link (a plain file, a write-only device node)

    def open(self) -> None: ...
    def write(self, data: bytes, timeout: float) -> None: ...
    def read(self, count: int, deadline: float) -> bytes: ...
    def discard_input(self) -> None: ...
    def close(self) -> None: ...


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


class SerialLink:
    can_read = True

    def __init__(self, config: PrinterConfig) -> None:
        self.name = f"serial:{config.target}"
        self.config = config
        # dsrdtr off: cheap printers wire no flow control, and a pty has none to give.
        self.printer = _escpos.setup().Serial(
            devfile=config.target,
            baudrate=config.baudrate,
            timeout=config.timeout_s,
            dsrdtr=False,
            profile=config.escpos_profile,
        )
        self.device: Any = None

    def open(self) -> None:
        try:
            self.printer.open(raise_not_found=True)
        except Exception as exc:  # DeviceNotFoundError wraps pyserial's own
            raise PrinterOffline(f"cannot open {self.config.target}: {exc}") from exc
        self.device = self.printer.device

    def write(self, data: bytes, timeout: float) -> None:
        import serial

        self.device.write_timeout = timeout
        try:
            self.printer._raw(data)
            self.device.flush()
        except serial.SerialTimeoutException as exc:
            raise PrintTimeout(f"{len(data)} bytes not sent in {timeout:.1f} s") from exc
        except serial.SerialException as exc:
            raise PrinterOffline(f"{self.name}: {exc}") from exc

    def read(self, count: int, deadline: float) -> bytes:
        out = b""
        while len(out) < count:
            left = _remaining(deadline)
            if left <= 0:
                break
            self.device.timeout = left
            chunk = self.device.read(count - len(out))
            if not chunk:
                break
            out += chunk
        return out

    def discard_input(self) -> None:
        self.device.reset_input_buffer()

    def close(self) -> None:
        if self.device is not None:
            try:
                self.device.close()
            except Exception as exc:  # closing a port that vanished
                log.info("printer %s: close failed: %s", self.name, exc)
            self.printer._device = False
            self.device = None


class NetworkLink:
    can_read = True

    def __init__(self, config: PrinterConfig) -> None:
        host, _, port = config.target.partition(":")
        self.name = f"tcp:{host}:{port or 9100}"
        self.config = config
        self.printer = _escpos.setup().Network(
            host=host,
            port=int(port or 9100),
            timeout=config.timeout_s,
            profile=config.escpos_profile,
        )
        self.sock: socket.socket | None = None

    def open(self) -> None:
        try:
            self.printer.open(raise_not_found=True)
        except Exception as exc:
            raise PrinterOffline(f"cannot connect to {self.name}: {exc}") from exc
        self.sock = self.printer.device
        assert self.sock is not None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes, timeout: float) -> None:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        try:
            self.printer._raw(data)
        except TimeoutError as exc:
            raise PrintTimeout(f"{len(data)} bytes not sent in {timeout:.1f} s") from exc
        except OSError as exc:
            raise PrinterOffline(f"{self.name}: {exc}") from exc

    def read(self, count: int, deadline: float) -> bytes:
        assert self.sock is not None
        out = b""
        while len(out) < count:
            left = _remaining(deadline)
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(count - len(out))
            except TimeoutError:
                break
            except OSError as exc:
                raise PrinterOffline(f"{self.name}: {exc}") from exc
            if not chunk:
                break
            out += chunk
        return out

    def discard_input(self) -> None:
        assert self.sock is not None
        self.sock.setblocking(False)
        try:
            while self.sock.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        if self.sock is not None:
            self.printer.close()
            self.sock = None


class UsbLink:
    can_read = True

    def __init__(self, config: PrinterConfig, backend: object | None = None) -> None:
        vid, pid = (int(part, 16) for part in config.target.split(":"))
        self.name = f"usb:{config.target}"
        self.config = config
        usb_args: dict[str, Any] = {"backend": backend} if backend is not None else {}
        self.printer = _escpos.setup().Usb(
            idVendor=vid,
            idProduct=pid,
            usb_args=usb_args,
            timeout=int(config.write_timeout_s * 1000),
            in_ep=config.usb_in_ep,
            out_ep=config.usb_out_ep,
            profile=config.escpos_profile,
        )

    def open(self) -> None:
        try:
            self.printer.open(raise_not_found=True)
        except Exception as exc:  # DeviceNotFoundError, or no libusb at all
            raise PrinterOffline(f"no USB printer {self.config.target}: {exc}") from exc

    def write(self, data: bytes, timeout: float) -> None:
        import usb.core

        self.printer.timeout = int(timeout * 1000)
        try:
            self.printer._raw(data)
        except usb.core.USBTimeoutError as exc:
            raise PrintTimeout(f"{len(data)} bytes not sent in {timeout:.1f} s") from exc
        except usb.core.USBError as exc:
            raise PrinterOffline(f"{self.name}: {exc}") from exc

    def read(self, count: int, deadline: float) -> bytes:
        import usb.core

        out = b""
        while len(out) < count:
            left_ms = int(_remaining(deadline) * 1000)
            if left_ms <= 0:
                break
            try:
                chunk = bytes(self.printer.device.read(self.config.usb_in_ep, 64, left_ms))
            except usb.core.USBTimeoutError:
                break
            except usb.core.USBError as exc:
                raise PrinterOffline(f"{self.name}: {exc}") from exc
            out += chunk
        return out

    def discard_input(self) -> None:
        while self.read(64, time.monotonic() + 0.001):
            pass

    def close(self) -> None:
        try:
            self.printer.close()
        except Exception as exc:
            log.info("printer %s: close failed: %s", self.name, exc)


class FileLink:
    """A file or device node. A node that opens read-write (a serial or USB printer class node,
    a pty) also answers status; a plain file or write-only node is `unknown`."""

    def __init__(self, config: PrinterConfig) -> None:
        self.name = f"file:{config.target}"
        self.config = config
        self.can_read = False
        self.fd: int | None = None
        self.printer: Any = None

    def open(self) -> None:
        path = self.config.target
        try:
            is_char = stat.S_ISCHR(os.stat(path).st_mode)
        except FileNotFoundError:
            is_char = False  # a file to create
        except OSError as exc:
            raise PrinterOffline(f"cannot open {path}: {exc}") from exc
        if is_char:
            try:
                self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                self.can_read = True
                if os.isatty(self.fd):
                    tty.setraw(self.fd)  # bytes, not lines: no echo, no CR/LF translation
                return
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.EINVAL):
                    raise PrinterOffline(f"cannot open {path}: {exc}") from exc
        self.can_read = False
        self.printer = _escpos.setup().File(devfile=path, profile=self.config.escpos_profile)
        try:
            self.printer.open(raise_not_found=True)
        except Exception as exc:
            raise PrinterOffline(f"cannot open {path}: {exc}") from exc

    def write(self, data: bytes, timeout: float) -> None:
        if self.fd is None:
            try:
                self.printer._raw(data)
                self.printer.flush()
            except OSError as exc:
                raise PrinterOffline(f"{self.name}: {exc}") from exc
            return
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.fd], [], _remaining(deadline))
            if not ready:
                raise PrintTimeout(f"{len(view)} of {len(data)} bytes not sent in {timeout:.1f} s")
            try:
                sent = os.write(self.fd, view)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise PrinterOffline(f"{self.name}: {exc}") from exc
            view = view[sent:]

    def read(self, count: int, deadline: float) -> bytes:
        if self.fd is None:
            return b""
        out = b""
        while len(out) < count:
            ready, _, _ = select.select([self.fd], [], [], _remaining(deadline))
            if not ready:
                break
            try:
                chunk = os.read(self.fd, count - len(out))
            except BlockingIOError:
                continue
            except OSError as exc:
                raise PrinterOffline(f"{self.name}: {exc}") from exc
            if not chunk:
                break
            out += chunk
        return out

    def discard_input(self) -> None:
        while self.fd is not None and self.read(4096, time.monotonic()):
            pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.printer is not None:
            self.printer.close()
            self.printer = None


def make_link(config: PrinterConfig, *, usb_backend: object | None = None) -> Link:
    """The link the config names. `usb_backend`: a pyusb backend (tests pass a fake bus)."""
    if config.connector == "serial":
        return SerialLink(config)
    if config.connector == "network":
        return NetworkLink(config)
    if config.connector == "usb":
        return UsbLink(config, usb_backend)
    return FileLink(config)
