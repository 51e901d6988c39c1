"""Command-line tools that drive or prepare a hall from outside the server: simulate, broker-config, backup, bookings, config checks."""
