"""Follower pages. Every view works on the signed-in user's own rows only: objects are looked up
by their UUID code *and* their owner, so another user's code is a 404, never a 403 that confirms
it exists."""
