"""The plant's edges: MQTT (mqtt.py, messages.py) and InfluxDB (influx.py)."""
