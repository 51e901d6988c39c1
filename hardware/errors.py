"""The one family of hardware errors. Vendor exceptions (pyserial, python-escpos, pyusb) are wrapped
into these at the boundary; each message tells a hall's staff what to do."""

from __future__ import annotations


class HardwareError(Exception):
    """A device could not do what was asked. `recoverable`: trying again later may work."""

    recoverable = True

    def __init__(self, message: str, *, device: str | None = None) -> None:
        super().__init__(message)
        self.device = device


class DeviceOffline(HardwareError):
    """The device or its port is gone (unplugged, powered off, wrong path)."""


class DeviceTimeout(HardwareError):
    """The device did not answer in time (it may be busy, off, or a write-only device)."""


class ProtocolError(HardwareError):
    """The device answered with bytes that make no sense (noise on the line, wrong protocol)."""


class ConfigurationError(HardwareError):
    """The device's config cannot work (unknown port type, bad address): fix the hall config."""

    recoverable = False
