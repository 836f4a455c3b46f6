# pragma version ~=0.4.3
"""
@title CTF exchange (V2 events), the local chain's settlement of venue matches
@notice Deployed twice, as the standard and the neg-risk exchange. The venue's operator settles
        each match it made off chain with one matchOrders call: shares move by ConditionalTokens
        safeTransferFrom and pUSD by transferFrom, under the approvals every trader gives the
        exchanges (pUSD approve, ConditionalTokens setApprovalForAll), and the call emits what
        CTFExchangeV2 emits on Polygon: per maker order OrderFilled(orderHash, maker order's
        owner, taker order's owner, …), then the taker order's OrderFilled(…, taker = this
        exchange, …) and OrdersMatched. The event layouts (types and indexing) are the real ones,
        so their topic0 values and data bytes are too.
        Local difference: the arguments are the venue's fills, not the signed orders (the venue
        checked the signatures); fills are at the maker's price and sides are opposite (the venue
        makes no mint/merge matches), so what the taker gave and got must equal the makers' sums.
        Fees are pUSD to the fee receiver: a BUY pays on top, a SELL out of its proceeds.
"""

from ethereum.ercs import IERC20

interface IConditionalTokens:
    def safeTransferFrom(sender: address, receiver: address, id: uint256, amount: uint256, data: Bytes[1024]): nonpayable

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

event FeeCharged:
    receiver: indexed(address)
    amount: uint256

event NewOperator:
    newOperator: indexed(address)
    admin: indexed(address)

event RemovedOperator:
    removedOperator: indexed(address)
    admin: indexed(address)

struct Fill:
    orderHash: bytes32
    maker: address
    side: uint8
    tokenId: uint256
    making: uint256
    taking: uint256
    fee: uint256
    builder: bytes32
    metadata: bytes32

BUY: constant(uint8) = 0
SELL: constant(uint8) = 1
MAX_MAKERS: constant(uint256) = 64

admin: public(immutable(address))
collateral: public(immutable(address))
ctf: public(immutable(address))
isOperator: public(HashMap[address, bool])
feeReceiver: public(address)


@deploy
def __init__(collateral_token: address, conditional_tokens: address, operator: address, fee_receiver: address):
    admin = msg.sender
    collateral = collateral_token
    ctf = conditional_tokens
    self.isOperator[operator] = True
    self.feeReceiver = fee_receiver
    log NewOperator(newOperator=operator, admin=msg.sender)


@external
def addOperator(operator: address):
    assert msg.sender == admin, "Exchange: only the admin"
    self.isOperator[operator] = True
    log NewOperator(newOperator=operator, admin=msg.sender)


@external
def removeOperator(operator: address):
    assert msg.sender == admin, "Exchange: only the admin"
    self.isOperator[operator] = False
    log RemovedOperator(removedOperator=operator, admin=msg.sender)


@external
def setFeeReceiver(receiver: address):
    assert msg.sender == admin, "Exchange: only the admin"
    self.feeReceiver = receiver


@external
@nonreentrant
def matchOrders(taker: Fill, makers: DynArray[Fill, MAX_MAKERS]):
    """Settle one taker order against its maker orders (amounts in 6-decimal base units)."""
    assert self.isOperator[msg.sender], "Exchange: not an operator"
    assert taker.side <= SELL, "Exchange: side is 0 (BUY) or 1 (SELL)"
    assert len(makers) > 0, "Exchange: no maker orders"
    gave: uint256 = 0
    got: uint256 = 0
    for m: Fill in makers:
        assert m.tokenId == taker.tokenId, "Exchange: maker order of another token"
        assert m.side + taker.side == 1, "Exchange: maker and taker on the same side"
        if m.side == SELL:
            self._shares(m.maker, taker.maker, m.tokenId, m.making)
            self._pusd(taker.maker, m.maker, m.taking)
        else:
            self._pusd(m.maker, taker.maker, m.making)
            self._shares(taker.maker, m.maker, m.tokenId, m.taking)
        self._fee(m.maker, m.fee)
        gave += m.taking
        got += m.making
        log OrderFilled(
            orderHash=m.orderHash, maker=m.maker, taker=taker.maker, side=m.side, tokenId=m.tokenId,
            makerAmountFilled=m.making, takerAmountFilled=m.taking, fee=m.fee, builder=m.builder, metadata=m.metadata,
        )
    assert gave == taker.making and got == taker.taking, "Exchange: the fills do not add up to the taker order's"
    self._fee(taker.maker, taker.fee)
    log OrderFilled(
        orderHash=taker.orderHash, maker=taker.maker, taker=self, side=taker.side, tokenId=taker.tokenId,
        makerAmountFilled=taker.making, takerAmountFilled=taker.taking, fee=taker.fee, builder=taker.builder,
        metadata=taker.metadata,
    )
    log OrdersMatched(
        takerOrderHash=taker.orderHash, takerOrderMaker=taker.maker, side=taker.side, tokenId=taker.tokenId,
        makerAmountFilled=taker.making, takerAmountFilled=taker.taking,
    )


@internal
def _pusd(sender: address, receiver: address, amount: uint256):
    if amount > 0:
        assert extcall IERC20(collateral).transferFrom(sender, receiver, amount), "Exchange: pUSD transfer failed"


@internal
def _shares(sender: address, receiver: address, id: uint256, amount: uint256):
    if amount > 0:
        extcall IConditionalTokens(ctf).safeTransferFrom(sender, receiver, id, amount, b"")


@internal
def _fee(payer: address, amount: uint256):
    if amount > 0:
        self._pusd(payer, self.feeReceiver, amount)
        log FeeCharged(receiver=self.feeReceiver, amount=amount)
