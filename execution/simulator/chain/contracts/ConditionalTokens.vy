# pragma version ~=0.4.3
"""
@title ConditionalTokens, the local chain's outcome shares
@notice The ERC-1155 surface of Gnosis' ConditionalTokens as Polymarket uses it (0x4D97…6045 on
        Polygon): balanceOf, balanceOfBatch, setApprovalForAll, safeTransferFrom,
        safeBatchTransferFrom with the receiver check, TransferSingle/TransferBatch; conditions
        resolved by their oracle with reportPayouts and redeemed with redeemPositions (the real
        ABIs and events).
        Local differences: position ids are registered with their condition (registerCondition),
        not derived from the collateral and collection ids, because the simulator's markets carry
        the token ids of real or generated markets; only single-outcome index sets redeem. Minters
        (the venue operator) seed shares with mint/burn, each minted share backed by one pUSD the
        contract mints to itself, so every redemption is paid; there is no split/merge.
"""

from ethereum.ercs import IERC20

interface IMintable:
    def mint(receiver: address, amount: uint256): nonpayable
    def burn(holder: address, amount: uint256): nonpayable

interface IERC1155Receiver:
    def onERC1155Received(operator: address, sender: address, id: uint256, amount: uint256, data: Bytes[1024]) -> bytes4: nonpayable
    def onERC1155BatchReceived(operator: address, sender: address, ids: DynArray[uint256, 64], amounts: DynArray[uint256, 64], data: Bytes[1024]) -> bytes4: nonpayable

event TransferSingle:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    id: uint256
    amount: uint256

event TransferBatch:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    ids: DynArray[uint256, 64]
    amounts: DynArray[uint256, 64]

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

event ConditionPreparation:
    conditionId: indexed(bytes32)
    oracle: indexed(address)
    questionId: indexed(bytes32)
    outcomeSlotCount: uint256

event ConditionResolution:
    conditionId: indexed(bytes32)
    oracle: indexed(address)
    questionId: indexed(bytes32)
    outcomeSlotCount: uint256
    payoutNumerators: DynArray[uint256, 8]

event PayoutRedemption:
    redeemer: indexed(address)
    collateralToken: indexed(address)
    parentCollectionId: indexed(bytes32)
    conditionId: bytes32
    indexSets: DynArray[uint256, 8]
    payout: uint256

event MinterSet:
    minter: indexed(address)
    allowed: bool

MAX_OUTCOMES: constant(uint256) = 8
ERC1155_RECEIVED: constant(bytes4) = 0xf23a6e61
ERC1155_BATCH_RECEIVED: constant(bytes4) = 0xbc197c81

owner: public(immutable(address))
collateral: public(immutable(address))
minters: public(HashMap[address, bool])

balanceOf: public(HashMap[address, HashMap[uint256, uint256]])
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])

payoutNumerators: public(HashMap[bytes32, HashMap[uint256, uint256]])
payoutDenominator: public(HashMap[bytes32, uint256])
outcomeSlots: HashMap[bytes32, uint256]
positionIds: public(HashMap[bytes32, HashMap[uint256, uint256]])
conditionOf: public(HashMap[uint256, bytes32])
oracleOf: public(HashMap[bytes32, address])
questionOf: public(HashMap[bytes32, bytes32])
conditionByQuestion: HashMap[address, HashMap[bytes32, bytes32]]


@deploy
def __init__(collateral_token: address):
    owner = msg.sender
    collateral = collateral_token


@view
@external
def supportsInterface(interface_id: bytes4) -> bool:
    # ERC-165 and ERC-1155.
    return interface_id in [0x01ffc9a7, 0xd9b67a26]


@view
@external
def getOutcomeSlotCount(conditionId: bytes32) -> uint256:
    return self.outcomeSlots[conditionId]


@view
@external
def balanceOfBatch(owners: DynArray[address, 64], ids: DynArray[uint256, 64]) -> DynArray[uint256, 64]:
    assert len(owners) == len(ids), "CTF: owners and ids differ in length"
    out: DynArray[uint256, 64] = []
    for i: uint256 in range(len(owners), bound=64):
        out.append(self.balanceOf[owners[i]][ids[i]])
    return out


@external
def setApprovalForAll(operator: address, approved: bool):
    self.isApprovedForAll[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def safeTransferFrom(sender: address, receiver: address, id: uint256, amount: uint256, data: Bytes[1024]):
    assert sender == msg.sender or self.isApprovedForAll[sender][msg.sender], "CTF: caller is not owner nor approved"
    self._move(sender, receiver, id, amount)
    log TransferSingle(operator=msg.sender, sender=sender, receiver=receiver, id=id, amount=amount)
    if receiver.is_contract:
        answer: bytes4 = extcall IERC1155Receiver(receiver).onERC1155Received(msg.sender, sender, id, amount, data)
        assert answer == ERC1155_RECEIVED, "CTF: receiver refused the transfer"


@external
def safeBatchTransferFrom(
    sender: address, receiver: address, ids: DynArray[uint256, 64], amounts: DynArray[uint256, 64], data: Bytes[1024]
):
    assert len(ids) == len(amounts), "CTF: ids and amounts differ in length"
    assert sender == msg.sender or self.isApprovedForAll[sender][msg.sender], "CTF: caller is not owner nor approved"
    for i: uint256 in range(len(ids), bound=64):
        self._move(sender, receiver, ids[i], amounts[i])
    log TransferBatch(operator=msg.sender, sender=sender, receiver=receiver, ids=ids, amounts=amounts)
    if receiver.is_contract:
        answer: bytes4 = extcall IERC1155Receiver(receiver).onERC1155BatchReceived(msg.sender, sender, ids, amounts, data)
        assert answer == ERC1155_BATCH_RECEIVED, "CTF: receiver refused the transfer"


@external
def setMinter(minter: address, allowed: bool):
    assert msg.sender == owner, "CTF: only the owner"
    self.minters[minter] = allowed
    log MinterSet(minter=minter, allowed=allowed)


@external
def registerCondition(conditionId: bytes32, oracle: address, questionId: bytes32, positions: DynArray[uint256, MAX_OUTCOMES]):
    """A market's condition, its oracle and the position id of each outcome (index i: index set 1 << i)."""
    assert self.minters[msg.sender] or msg.sender == owner, "CTF: only a minter"
    assert self.outcomeSlots[conditionId] == 0, "CTF: condition already prepared"
    assert len(positions) >= 2, "CTF: a condition has at least two outcomes"
    for i: uint256 in range(len(positions), bound=MAX_OUTCOMES):
        assert self.conditionOf[positions[i]] == empty(bytes32), "CTF: position already registered"
        self.conditionOf[positions[i]] = conditionId
        self.positionIds[conditionId][i] = positions[i]
    self.outcomeSlots[conditionId] = len(positions)
    self.oracleOf[conditionId] = oracle
    self.questionOf[conditionId] = questionId
    self.conditionByQuestion[oracle][questionId] = conditionId
    log ConditionPreparation(conditionId=conditionId, oracle=oracle, questionId=questionId, outcomeSlotCount=len(positions))


@external
def reportPayouts(questionId: bytes32, payouts: DynArray[uint256, MAX_OUTCOMES]):
    """The oracle (msg.sender) resolves its question: one numerator per outcome."""
    conditionId: bytes32 = self.conditionByQuestion[msg.sender][questionId]
    slots: uint256 = self.outcomeSlots[conditionId]
    assert slots != 0, "CTF: condition not prepared or not this oracle's"
    assert len(payouts) == slots, "CTF: one payout per outcome"
    assert self.payoutDenominator[conditionId] == 0, "CTF: payout denominator already set"
    total: uint256 = 0
    for i: uint256 in range(len(payouts), bound=MAX_OUTCOMES):
        total += payouts[i]
        self.payoutNumerators[conditionId][i] = payouts[i]
    assert total > 0, "CTF: payout is all zeroes"
    self.payoutDenominator[conditionId] = total
    log ConditionResolution(
        conditionId=conditionId, oracle=msg.sender, questionId=questionId, outcomeSlotCount=slots, payoutNumerators=payouts
    )


@external
def redeemPositions(
    collateralToken: address, parentCollectionId: bytes32, conditionId: bytes32, indexSets: DynArray[uint256, MAX_OUTCOMES]
):
    """Burn the caller's shares of the given outcomes and pay their share of the resolved payout."""
    assert collateralToken == collateral, "CTF: not this collateral"
    assert parentCollectionId == empty(bytes32), "CTF: nested collections are not supported"
    denominator: uint256 = self.payoutDenominator[conditionId]
    assert denominator > 0, "CTF: result for condition not received yet"
    slots: uint256 = self.outcomeSlots[conditionId]
    payout: uint256 = 0
    for index_set: uint256 in indexSets:
        outcome: uint256 = 0
        found: bool = False
        for i: uint256 in range(MAX_OUTCOMES):
            if i < slots and index_set == 1 << i:
                outcome = i
                found = True
        assert found, "CTF: only single-outcome index sets"
        position: uint256 = self.positionIds[conditionId][outcome]
        stake: uint256 = self.balanceOf[msg.sender][position]
        if stake > 0:
            payout += stake * self.payoutNumerators[conditionId][outcome] // denominator
            self.balanceOf[msg.sender][position] = 0
            log TransferSingle(operator=msg.sender, sender=msg.sender, receiver=empty(address), id=position, amount=stake)
    if payout > 0:
        assert extcall IERC20(collateral).transfer(msg.sender, payout), "CTF: could not transfer payout"
    log PayoutRedemption(
        redeemer=msg.sender, collateralToken=collateralToken, parentCollectionId=parentCollectionId,
        conditionId=conditionId, indexSets=indexSets, payout=payout,
    )


@external
def mint(receiver: address, id: uint256, amount: uint256):
    """Local seeding: shares of a registered position, each backed by one pUSD minted to this contract."""
    assert self.minters[msg.sender], "CTF: only a minter"
    assert self.conditionOf[id] != empty(bytes32), "CTF: unknown position"
    assert receiver != empty(address), "CTF: mint to the zero address"
    extcall IMintable(collateral).mint(self, amount)
    self.balanceOf[receiver][id] += amount
    log TransferSingle(operator=msg.sender, sender=empty(address), receiver=receiver, id=id, amount=amount)


@external
def burn(holder: address, id: uint256, amount: uint256):
    """Local seeding: remove shares (and the pUSD that backed them)."""
    assert self.minters[msg.sender], "CTF: only a minter"
    assert self.balanceOf[holder][id] >= amount, "CTF: burn amount exceeds balance"
    self.balanceOf[holder][id] -= amount
    extcall IMintable(collateral).burn(self, amount)
    log TransferSingle(operator=msg.sender, sender=holder, receiver=empty(address), id=id, amount=amount)


@internal
def _move(sender: address, receiver: address, id: uint256, amount: uint256):
    assert receiver != empty(address), "CTF: transfer to the zero address"
    assert self.balanceOf[sender][id] >= amount, "CTF: insufficient balance for transfer"
    self.balanceOf[sender][id] -= amount
    self.balanceOf[receiver][id] += amount
