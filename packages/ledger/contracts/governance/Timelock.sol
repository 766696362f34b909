// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Compiles OpenZeppelin's TimelockController unchanged, so that its artifact is generated.
// It is Lode's treasury and the owner of every governed setting: proposers and cancellers are
// the LodeGovernor, executor is anyone (address(0)), and it administers itself.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
