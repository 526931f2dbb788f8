"""watchdog: budget alerting for LiteLLM Proxy."""

__version__ = "0.1.0"
