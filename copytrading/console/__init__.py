"""The staff console page of the admin (/admin/console/): switches, guardrails, routing."""
