"""Detection: every leader fill seen once, whichever source sees it first.

Sources (chain logs, the Data API poller, replay tapes) turn what they see into
``TradeObservation`` values and hand them to ``record.leader_trades_record``, the single path that
aggregates legs, dedupes across sources, applies the freshness cutoff and enqueues fan-out.
"""
