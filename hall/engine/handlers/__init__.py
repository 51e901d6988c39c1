"""The engine's command handlers, one module per device class."""
