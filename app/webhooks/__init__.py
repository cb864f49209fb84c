"""Events to the outside world: `GET /v1/events` and signed outbound webhooks."""
