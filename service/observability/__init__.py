"""Metrics, worker heartbeats and the keys the API and the workers share for them."""
