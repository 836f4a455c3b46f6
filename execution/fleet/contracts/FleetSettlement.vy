# pragma version ~=0.4.3
"""
@title Fleet settlement: operator wallets reimbursed by followers, each copy id at most once
@notice Fleet mode (issue #12): an operator wallet derived from the platform's mnemonic fills a
        follower's copy with the platform's pUSD float, then settles on chain.
        BUY copy: the operator pushes the shares to the follower itself (a plain ERC-1155 transfer),
        then calls `reimburse`, which moves pUSD follower -> operator with transferFrom under the
        allowance the follower granted to THIS contract.
        SELL copy: the operator calls `pull_shares`, which moves the follower's shares to the
        operator with safeTransferFrom under the follower's setApprovalForAll(this contract); the
        operator sells them and pays the proceeds with a plain pUSD transfer.
        One record per copy id, shared by both calls (`settled`): a copy is either a buy or a sell,
        so a copy id is charged (or its shares pulled) once, whichever call comes first, and a
        retried or replaced transaction for the same copy reverts instead of charging twice.
        Only operators the admin registered may call either; the follower's approvals name this
        contract, never an operator wallet, so a retired operator loses access by `remove_operator`.
"""

from ethereum.ercs import IERC20

interface IConditionalTokens:
    def safeTransferFrom(sender: address, receiver: address, id: uint256, amount: uint256, data: Bytes[1024]): nonpayable

event Reimbursed:
    copy_id: indexed(bytes32)
    follower: indexed(address)
    operator: indexed(address)
    amount: uint256

event SharesPulled:
    copy_id: indexed(bytes32)
    follower: indexed(address)
    operator: indexed(address)
    token_id: uint256
    amount: uint256

event OperatorSet:
    operator: indexed(address)
    allowed: bool

pusd: public(immutable(address))
ctf: public(immutable(address))
admin: public(immutable(address))
is_operator: public(HashMap[address, bool])
settled: HashMap[bytes32, bool]


@deploy
def __init__(pusd_: address, ctf_: address, admin_: address):
    assert pusd_ != empty(address) and ctf_ != empty(address) and admin_ != empty(address), "Fleet: zero address"
    pusd = pusd_
    ctf = ctf_
    admin = admin_


@external
def add_operator(operator: address):
    assert msg.sender == admin, "Fleet: only the admin"
    self.is_operator[operator] = True
    log OperatorSet(operator=operator, allowed=True)


@external
def remove_operator(operator: address):
    assert msg.sender == admin, "Fleet: only the admin"
    self.is_operator[operator] = False
    log OperatorSet(operator=operator, allowed=False)


@view
@external
def is_settled(copy_id: bytes32) -> bool:
    return self.settled[copy_id]


@internal
def _claim(copy_id: bytes32, amount: uint256):
    assert self.is_operator[msg.sender], "Fleet: not an operator"
    assert not self.settled[copy_id], "Fleet: copy already settled"
    assert amount > 0, "Fleet: zero amount"
    self.settled[copy_id] = True


@external
def reimburse(copy_id: bytes32, follower: address, amount: uint256):
    self._claim(copy_id, amount)
    assert extcall IERC20(pusd).transferFrom(follower, msg.sender, amount), "Fleet: pUSD transfer failed"
    log Reimbursed(copy_id=copy_id, follower=follower, operator=msg.sender, amount=amount)


@external
def pull_shares(copy_id: bytes32, follower: address, token_id: uint256, amount: uint256):
    # Straight from the follower to the operator (this contract is the approved operator, not a
    # holder): the CTF's receiver check applies only to contract receivers, and operators are EOAs.
    self._claim(copy_id, amount)
    extcall IConditionalTokens(ctf).safeTransferFrom(follower, msg.sender, token_id, amount, b"")
    log SharesPulled(copy_id=copy_id, follower=follower, operator=msg.sender, token_id=token_id, amount=amount)
