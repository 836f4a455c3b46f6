# pragma version ~=0.4.3
"""
Stand-in for CTFExchangeV2 on a local EVM: emits the real-layout events of a match.

Event signatures (types and indexing) equal the real ones, so topic0 values are the real ones:
OrderFilled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32),
OrdersMatched(bytes32,address,uint8,uint256,uint256,uint256) and the ERC-1155
TransferSingle(address,address,address,uint256,uint256) a real match also causes.
"""

event OrderFilled:
    orderHash: indexed(bytes32)
    maker: indexed(address)
    taker: indexed(address)
    side: uint8
    tokenId: uint256
    makerAmountFilled: uint256
    takerAmountFilled: uint256
    fee: uint256
    builder: bytes32
    metadata: bytes32

event OrdersMatched:
    takerOrderHash: indexed(bytes32)
    takerOrderMaker: indexed(address)
    side: uint8
    tokenId: uint256
    makerAmountFilled: uint256
    takerAmountFilled: uint256

event TransferSingle:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    id: uint256
    amount: uint256

struct Fill:
    orderHash: bytes32
    maker: address
    side: uint8
    tokenId: uint256
    making: uint256
    taking: uint256
    fee: uint256


@external
def matchOrders(taker: Fill, makers: DynArray[Fill, 16]):
    # As CTFExchangeV2 _matchOrders: one OrderFilled per maker order (taker = the taker order's
    # owner), then the taker order's own OrderFilled (taker = this exchange) and OrdersMatched.
    for m: Fill in makers:
        log OrderFilled(
            orderHash=m.orderHash, maker=m.maker, taker=taker.maker, side=m.side, tokenId=m.tokenId,
            makerAmountFilled=m.making, takerAmountFilled=m.taking, fee=m.fee,
            builder=empty(bytes32), metadata=empty(bytes32),
        )
        log TransferSingle(operator=self, sender=m.maker, receiver=taker.maker, id=m.tokenId, amount=m.taking)
    log OrderFilled(
        orderHash=taker.orderHash, maker=taker.maker, taker=self, side=taker.side, tokenId=taker.tokenId,
        makerAmountFilled=taker.making, takerAmountFilled=taker.taking, fee=taker.fee,
        builder=empty(bytes32), metadata=empty(bytes32),
    )
    log OrdersMatched(
        takerOrderHash=taker.orderHash, takerOrderMaker=taker.maker, side=taker.side, tokenId=taker.tokenId,
        makerAmountFilled=taker.making, takerAmountFilled=taker.taking,
    )


@external
def transfer(sender: address, receiver: address, tokenId: uint256, amount: uint256):
    # ERC-1155 noise: a position moving without a fill (split, merge, redeem, gift).
    log TransferSingle(operator=msg.sender, sender=sender, receiver=receiver, id=tokenId, amount=amount)
