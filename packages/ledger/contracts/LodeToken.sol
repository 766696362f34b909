// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title LodeToken
/// @notice The Lode network's ERC-20 token: payment for compute, stake for providers, votes for
///         governance. The initial supply is minted once, at deployment, as a list of allocations
///         (the DAO treasury, the operator, the faucet's reserve, …), each optionally delegated from
///         the first block so that governance's quorum is measured against votes that exist.
///         After that the supply changes only through the emission schedule fixed at deployment:
///         `emissionRate` tokens per second, released into `rewardPool` by anyone, until
///         `emissionCap` tokens have been emitted. There is no owner and no other mint.
/// @dev Votes use timestamps as their clock (EIP-6372 "mode=timestamp") so that governance periods
///      are measured in seconds, which stays meaningful on an automining chain where block numbers
///      advance only with transactions.
contract LodeToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice One share of the initial supply.
    /// @param holder receives `amount`
    /// @param amount tokens (in wei), more than zero
    /// @param delegatee receives the holder's votes from the start; the zero address leaves them
    ///        undelegated (the holder may delegate later, as any holder may)
    struct Allocation {
        address holder;
        uint256 amount;
        address delegatee;
    }

    /// @notice A constructor address argument was the zero address.
    error ZeroAddress();
    /// @notice The constructor was given no allocation, or one of zero tokens.
    error EmptyAllocation();
    /// @notice `releaseEmission` found nothing to release (cap reached or no time elapsed).
    error NothingToRelease();

    /// @notice Emitted when scheduled emission is minted into the reward pool.
    /// @param rewardPool receiver of the emission
    /// @param amount tokens minted by this release
    /// @param totalEmitted tokens emitted since deployment, this release included
    event EmissionReleased(address indexed rewardPool, uint256 amount, uint256 totalEmitted);

    /// @notice Receiver of all scheduled emission (fixed at deployment).
    address public immutable rewardPool;
    /// @notice Tokens (in wei) emitted per second since `emissionStart`.
    uint256 public immutable emissionRate;
    /// @notice The most tokens (in wei) emission can ever mint.
    uint256 public immutable emissionCap;
    /// @notice Timestamp from which emission accrues.
    uint64 public immutable emissionStart;
    /// @notice Tokens (in wei) emitted so far.
    uint256 public emitted;

    /// @param allocations the initial supply, holder by holder (their sum is the initial supply);
    ///        an allocation with a delegatee has its votes delegated at once
    /// @param rewardPool_ receives scheduled emission
    /// @param emissionRate_ tokens (in wei) per second; 0 disables emission
    /// @param emissionCap_ the most tokens (in wei) emission can ever mint
    constructor(
        Allocation[] memory allocations,
        address rewardPool_,
        uint256 emissionRate_,
        uint256 emissionCap_
    ) ERC20("Lode", "LODE") ERC20Permit("Lode") {
        if (rewardPool_ == address(0)) revert ZeroAddress();
        if (allocations.length == 0) revert EmptyAllocation();
        rewardPool = rewardPool_;
        emissionRate = emissionRate_;
        emissionCap = emissionCap_;
        emissionStart = uint64(block.timestamp);
        for (uint256 i = 0; i < allocations.length; i++) {
            Allocation memory a = allocations[i];
            if (a.holder == address(0)) revert ZeroAddress();
            if (a.amount == 0) revert EmptyAllocation();
            _mint(a.holder, a.amount);
            if (a.delegatee != address(0)) _delegate(a.holder, a.delegatee);
        }
    }

    /// @notice Tokens (in wei) that `releaseEmission` would mint now.
    /// @return amount accrued and not yet released, bounded by the cap
    function releasable() public view returns (uint256 amount) {
        uint256 accrued = (block.timestamp - emissionStart) * emissionRate;
        if (accrued > emissionCap) accrued = emissionCap;
        return accrued - emitted;
    }

    /// @notice Mints the emission accrued since the last release into `rewardPool`. Anyone may call.
    /// @return amount tokens (in wei) minted
    function releaseEmission() external returns (uint256 amount) {
        amount = releasable();
        if (amount == 0) revert NothingToRelease();
        emitted += amount;
        _mint(rewardPool, amount);
        emit EmissionReleased(rewardPool, amount, emitted);
    }

    /// @notice The votes clock: the current block timestamp (EIP-6372).
    /// @return the current timestamp as a uint48
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice Describes the votes clock (EIP-6372).
    /// @return always "mode=timestamp"
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice The next permit nonce of `owner`.
    /// @param owner the token holder
    /// @return the nonce the next permit signature must use
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
