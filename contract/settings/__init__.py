"""Device settings: the schemas of the hall config sections a device parses (printer, bus) and the
follower of a device's retained settings topic (contract/settings/follower.py). Pure data: the hall
validates these sections without importing python-escpos or pyserial, and devices read them without
importing the hall."""
