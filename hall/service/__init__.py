"""The hall server: the core wired to MQTT, its owner guard, metrics and device settings, and `hallq server`."""
