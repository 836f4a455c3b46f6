"""The only code that knows Polymarket: order signing, the gateway, the response classifier.

Modules (import from them directly; this package re-exports nothing, so importing it is cheap):

- ``orders``      OrderRequest (limit / market_buy / market_sell), MarketInfo, FeeSchedule
- ``amounts``     validate_order (refusals before signing), order_amounts (per tick size)
- ``signing``     order_sign (account key, no network), sign_order_with_key, wallet_classify
- ``payload``     SignedOrderPayload: the exact POST bytes + order hash, to_json / from_json
- ``hashing``     order_hash: our EIP-712 digest of the POST body's order (= CLOB orderID)
- ``classify``    classify_post_response: the one classifier of POST /order answers
- ``lookup``      classify_order_lookup (GET /data/order/{hash}), trades and balance parsing
- ``gateway``     VenueGateway (interface), default_gateway()
- ``polymarket``  PolymarketGateway (shared connections, caches, version canary)
- ``pool``        ConnectionPool: http.client keep-alive pool for orders and order lookups
- ``transport``   HttpAnswer, the shared httpx client for reads; NotSent vs AnswerLost
- ``services``    post_signed, order_post, order_lookup, account_trades, account_balance
- ``custody``     custody_derive (signer address + L1-derived API credentials), custody_check_wallet
- ``paper``       simulate_fill (paper custody mode)
- ``canary``      VersionCanary (``/version`` must be 2), recorded in execution.models.VenueHealth
- ``errors``      VenueError and its subclasses, each saying what the caller must do
"""
