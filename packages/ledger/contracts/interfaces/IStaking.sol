// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IStaking
/// @notice The part of Staking that JobEscrow uses to restake a provider's earnings.
interface IStaking {
    /// @notice Adds `amount` tokens, pulled from the caller, to `provider`'s own stake.
    function stakeFor(address provider, uint256 amount) external;
}
