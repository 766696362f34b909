// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IDeviceRegistry
/// @notice The part of DeviceRegistry that JobEscrow and DeviceShares use to route device income.
interface IDeviceRegistry {
    /// @notice Where a node's payouts go: its device token's holder, the device's share contract
    ///         while it is split, or the node itself when it is not a registered device.
    /// @param node the node (the provider address in payout trees)
    /// @return payee the account to pay
    /// @return registered whether the node is a registered device
    function payeeOf(address node) external view returns (address payee, bool registered);
}
