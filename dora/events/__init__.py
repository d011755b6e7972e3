"""Workflow events, recorder, event processor and the outbox relay to Kafka."""
