"""`hallq report`: measures computed from the stored events, read while the hall runs."""
