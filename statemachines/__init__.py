"""Step Functions definitions (ASL) and the generator of the escalation definition."""
