"""Follower notifications: what needs a follower's attention, collected from the records the
pipeline and the staff already write, and sent as a digest by e-mail and/or a webhook."""
