# pragma version ~=0.4.3
"""
@title pUSD, the local chain's collateral
@notice An ERC-20 with 6 decimals, like Polymarket's pUSD (0xC011…2DFB on Polygon). Holders use
        the standard surface (transfer, approve, transferFrom); exchanges and, later, our own
        settlement contract move funds with transferFrom under the holder's allowance.
        Local-only: minters (the venue operator, the ConditionalTokens contract) may mint and burn,
        which is how tests, the demo and the simulator's `set_balance` seed wallets. The real pUSD is
        minted by wrapping USDC through the CollateralOnramp.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event MinterSet:
    minter: indexed(address)
    allowed: bool

name: public(constant(String[32])) = "Polymarket USD"
symbol: public(constant(String[8])) = "pUSD"
decimals: public(constant(uint8)) = 6

owner: public(immutable(address))
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minters: public(HashMap[address, bool])


@deploy
def __init__():
    owner = msg.sender


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[sender][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "pUSD: insufficient allowance"
        self.allowance[sender][msg.sender] = allowed - amount
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def setMinter(minter: address, allowed: bool):
    assert msg.sender == owner, "pUSD: only the owner"
    self.minters[minter] = allowed
    log MinterSet(minter=minter, allowed=allowed)


@external
def mint(receiver: address, amount: uint256):
    assert self.minters[msg.sender], "pUSD: only a minter"
    assert receiver != empty(address), "pUSD: mint to the zero address"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def burn(holder: address, amount: uint256):
    assert self.minters[msg.sender], "pUSD: only a minter"
    assert self.balanceOf[holder] >= amount, "pUSD: burn exceeds balance"
    self.balanceOf[holder] -= amount
    self.totalSupply -= amount
    log Transfer(sender=holder, receiver=empty(address), value=amount)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "pUSD: transfer to the zero address"
    assert self.balanceOf[sender] >= amount, "pUSD: transfer amount exceeds balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)
