"""Ticket printers, LED boards, caller keypads, their emulators and bridges."""
