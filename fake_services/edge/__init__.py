"""The edge: authenticates API keys, assigns request ids and forwards to core."""
