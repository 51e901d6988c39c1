"""The queue authority: pure engine, durable store, config, and the MQTT service."""
