"""Click commands for the core writers and the policy (one module per concern)."""
