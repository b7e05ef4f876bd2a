"""The practice desk: staff pages on the conversations (insight, handoffs)."""
