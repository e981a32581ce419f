"""Run Event Webhook: signed run events from the WRK Platform, stored once each."""
