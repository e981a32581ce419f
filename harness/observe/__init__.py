"""Reading what the system under test exposes: Prometheus, Alertmanager notifications, logs."""
