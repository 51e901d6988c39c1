"""The kiosk's C heap (glibc): freed memory handed back to the system.

A screen's label textures and a ticket's raster are large blocks amid small ones; glibc keeps the
pages they freed resident until the heap is trimmed. `trim()` hands back the free pages of every
thread's heap: the UI's after a replaced screen is collected, the printer thread's right after a
ticket is printed. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return None


_libc = _glibc()


def trim() -> None:
    """Hand the free pages of the C heap (every thread's arena) back to the system."""
    if _libc is not None:
        _libc.malloc_trim(0)
