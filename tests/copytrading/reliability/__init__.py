"""The reliability suite (issue 5, item 6): reference/reliability.md §6.3 scenarios against the
simulated venue over HTTP, each ending with the I1-I5 check of ``invariants.py``.

Scenario -> where:
  S1, S2, S5, S18, S19  test_processes.py (worker processes killed/stopped/cut off; with REDIS_URL,
                        S1 and S5 also against real ``rundramatiq`` pools on the Redis queue)
  S3, S4, S6-S10, S24, S25  test_venue_faults.py
  S5 (Dramatiq workers), S11, S20  test_broker.py
  S26, S27, S28         test_decisions.py
  S29                   test_kill_switch.py
  S39, caps when every answer is lost  test_caps.py, test_follower_update.py
  S40 for session-key accounts (revocation mid-burst), I1-I5 with session accounts  test_session_custody.py
  routing, reasons visible on rows  test_routing.py
  positive controls of the checker  test_invariants.py

``venue_proxy.py`` records every order POST the venue receives (and injects the few faults the
simulator has no knob for); ``worker.py`` is the worker process the process scenarios drive.
"""
