"""The contract between the hall server and every device: topic names, payloads, the MQTT
transport and the device client. It imports nothing of the hall's engine, store or service."""
