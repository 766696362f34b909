// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IProtocolConfig
/// @notice The protocol parameters that Staking and JobEscrow read on every call that uses them.
interface IProtocolConfig {
    /// @notice Protocol fee on settled payouts, in basis points of the debited amount.
    function feeBps() external view returns (uint16);
    /// @notice Own stake (in token wei) a provider needs to be eligible to serve.
    function minStake() external view returns (uint256);
    /// @notice Fraction of a provider's stake slashed per proven offence, in basis points.
    function slashBps() external view returns (uint16);
    /// @notice Seconds between `unbond` and the moment the funds can be withdrawn.
    function unbondingPeriod() external view returns (uint64);
    /// @notice Seconds between settlement batches posted by the gateway (advisory, read off-chain).
    function settlementPeriod() external view returns (uint64);
    /// @notice Seconds after posting during which a settlement batch can be challenged or voided.
    function challengeWindow() external view returns (uint64);
    /// @notice Receiver of protocol fees and slashed stake.
    function treasury() external view returns (address);
    /// @notice Seconds per availability epoch (epoch n covers [n·epochLength, (n+1)·epochLength)).
    function epochLength() external view returns (uint64);
    /// @notice Token wei of emission the availability rewards of one epoch may use, at most.
    function availabilityPool() external view returns (uint256);
    /// @notice Availability challenges per registered device per epoch (read off-chain).
    function challengeRate() external view returns (uint16);
    /// @notice The governance account (the TimelockController) allowed to resolve disputes.
    function owner() external view returns (address);
}
