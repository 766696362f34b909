// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ILodeEmission
/// @notice LodeToken's emission schedule, as JobEscrow (the reward pool) uses it.
interface ILodeEmission {
    /// @notice Receiver of all scheduled emission.
    function rewardPool() external view returns (address);
    /// @notice Tokens emitted so far.
    function emitted() external view returns (uint256);
    /// @notice Tokens `releaseEmission` would mint now.
    function releasable() external view returns (uint256);
    /// @notice Mints the accrued emission into the reward pool.
    function releaseEmission() external returns (uint256);
}
