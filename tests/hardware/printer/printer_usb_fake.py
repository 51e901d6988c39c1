"""A fake USB bus for pyusb: one printer-class device whose bulk endpoints lead to an emulator.

pyusb talks to it through its real backend interface (usb.backend.IBackend), so python-escpos's
Usb connector and pyusb's descriptor handling, claiming and transfers all run as with libusb;
only the wire is replaced. No physical device, no libusb needed."""

from __future__ import annotations

import array
import errno
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

OUT_EP, IN_EP = 0x01, 0x82


class FakeUsbPrinterBackend(usb.backend.IBackend):  # type: ignore[misc]
    def __init__(
        self, vid: int, pid: int, feed: Callable[[bytes], bytes], present: bool = True
    ) -> None:
        self.vid, self.pid, self.feed = vid, pid, feed
        self.present = present
        self.inbox = bytearray()
        self.written = bytearray()
        self.lock = threading.Lock()
        self.opened = 0

    def enumerate_devices(self) -> Any:
        if self.present:
            yield "printer0"

    def get_device_descriptor(self, dev: Any) -> Any:
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=self.vid, idProduct=self.pid,
            bcdDevice=0x0100, iManufacturer=0, iProduct=0, iSerialNumber=0,
            bNumConfigurations=1, address=3, bus=1, port_number=1, port_numbers=(1,), speed=2,
        )  # fmt: skip

    def get_configuration_descriptor(self, dev: Any, config: int) -> Any:
        return SimpleNamespace(
            bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
            bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0, bMaxPower=50,
            extra_descriptors=[],
        )  # fmt: skip

    def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> Any:
        # Interface class 7: printer; protocol 2: bidirectional (it answers status).
        return SimpleNamespace(
            bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0,
            bNumEndpoints=2, bInterfaceClass=7, bInterfaceSubClass=1, bInterfaceProtocol=2,
            iInterface=0, extra_descriptors=[],
        )  # fmt: skip

    def get_endpoint_descriptor(self, dev: Any, ep: int, intf: int, alt: int, config: int) -> Any:
        return SimpleNamespace(
            bLength=7, bDescriptorType=5, bEndpointAddress=(OUT_EP, IN_EP)[ep],
            bmAttributes=2, wMaxPacketSize=64, bInterval=0, bRefresh=0, bSynchAddress=0,
            extra_descriptors=[],
        )  # fmt: skip

    def open_device(self, dev: Any) -> Any:
        self.opened += 1
        return "handle"

    def close_device(self, dev_handle: Any) -> None:
        pass

    def set_configuration(self, dev_handle: Any, config_value: int) -> None:
        pass

    def get_configuration(self, dev_handle: Any) -> int:
        return 1

    def set_interface_altsetting(self, dev_handle: Any, intf: int, altsetting: int) -> None:
        pass

    def claim_interface(self, dev_handle: Any, intf: int) -> None:
        pass

    def release_interface(self, dev_handle: Any, intf: int) -> None:
        pass

    def reset_device(self, dev_handle: Any) -> None:
        pass

    def clear_halt(self, dev_handle: Any, ep: int) -> None:
        pass

    def is_kernel_driver_active(self, dev_handle: Any, intf: int) -> bool:
        return False

    def detach_kernel_driver(self, dev_handle: Any, intf: int) -> None:
        pass

    def bulk_write(self, dev_handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        assert ep == OUT_EP
        payload = bytes(data)
        self.written += payload
        replies = self.feed(payload)
        with self.lock:
            self.inbox += replies
        return len(payload)

    def bulk_read(
        self, dev_handle: Any, ep: int, intf: int, buff: array.array, timeout: int
    ) -> int:  # type: ignore[type-arg]
        assert ep == IN_EP
        deadline = time.monotonic() + timeout / 1000
        while True:
            with self.lock:
                if self.inbox:
                    n = min(len(buff), len(self.inbox))
                    buff[:n] = array.array("B", self.inbox[:n])
                    del self.inbox[:n]
                    return n
            if time.monotonic() >= deadline:
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            time.sleep(0.002)
