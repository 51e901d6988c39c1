"""hallq: queue tickets, calls and hall displays for government service halls."""

__version__ = "0.1.0"
