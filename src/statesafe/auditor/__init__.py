"""The static auditor: finds writes to policy files that bypass the policy."""
