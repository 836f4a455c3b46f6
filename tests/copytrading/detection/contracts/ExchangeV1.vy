# pragma version ~=0.4.3
"""
Stand-in for the legacy V1 CTF Exchange on a local EVM: emits the real-layout events of a match.

OrderFilled(bytes32,address,address,uint256,uint256,uint256,uint256,uint256) and
OrdersMatched(bytes32,address,uint256,uint256,uint256,uint256); asset id 0 is the collateral.
"""

event OrderFilled:
    orderHash: indexed(bytes32)
    maker: indexed(address)
    taker: indexed(address)
    makerAssetId: uint256
    takerAssetId: uint256
    makerAmountFilled: uint256
    takerAmountFilled: uint256
    fee: uint256

event OrdersMatched:
    takerOrderHash: indexed(bytes32)
    takerOrderMaker: indexed(address)
    makerAssetId: uint256
    takerAssetId: uint256
    makerAmountFilled: uint256
    takerAmountFilled: uint256

struct Fill:
    orderHash: bytes32
    maker: address
    makerAssetId: uint256
    takerAssetId: uint256
    making: uint256
    taking: uint256
    fee: uint256


@external
def matchOrders(taker: Fill, makers: DynArray[Fill, 16]):
    for m: Fill in makers:
        log OrderFilled(
            orderHash=m.orderHash, maker=m.maker, taker=taker.maker, makerAssetId=m.makerAssetId,
            takerAssetId=m.takerAssetId, makerAmountFilled=m.making, takerAmountFilled=m.taking, fee=m.fee,
        )
    log OrderFilled(
        orderHash=taker.orderHash, maker=taker.maker, taker=self, makerAssetId=taker.makerAssetId,
        takerAssetId=taker.takerAssetId, makerAmountFilled=taker.making, takerAmountFilled=taker.taking,
        fee=taker.fee,
    )
    log OrdersMatched(
        takerOrderHash=taker.orderHash, takerOrderMaker=taker.maker, makerAssetId=taker.makerAssetId,
        takerAssetId=taker.takerAssetId, makerAmountFilled=taker.making, takerAmountFilled=taker.taking,
    )
