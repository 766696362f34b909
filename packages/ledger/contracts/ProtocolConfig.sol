// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IProtocolConfig} from "./interfaces/IProtocolConfig.sol";

/// @title ProtocolConfig
/// @notice Lode's protocol parameters, changed only by governance: the owner is the
///         TimelockController that executes `LodeGovernor` proposals. Every setter checks its
///         bounds and emits `ParameterChanged`.
/// @dev Values are read by Staking and JobEscrow at the moment they are used; a JobEscrow batch
///      fixes its fee and challenge deadline when it is posted, and an unbonding request fixes
///      its release time when it is made, so a parameter change never rewrites the past.
contract ProtocolConfig is Ownable, IProtocolConfig {
    /// @notice The highest protocol fee governance may set: 20 %.
    uint16 public constant MAX_FEE_BPS = 2_000;
    /// @notice 100 %, in basis points.
    uint16 public constant BPS = 10_000;
    /// @notice The longest unbonding period, settlement period or challenge window: 365 days.
    uint64 public constant MAX_PERIOD = 365 days;
    /// @notice The most availability challenges per device per epoch.
    uint16 public constant MAX_CHALLENGE_RATE = 1_000;

    /// @notice `feeBps` above `MAX_FEE_BPS`.
    error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    /// @notice A basis-point value outside its range.
    error BpsOutOfRange(uint256 bps, uint256 min, uint256 max);
    /// @notice A period outside [min, max] seconds.
    error PeriodOutOfRange(uint256 period, uint256 min, uint256 max);
    /// @notice A challenge rate above `MAX_CHALLENGE_RATE`.
    error ChallengeRateTooHigh(uint256 rate, uint256 max);
    /// @notice `minStake` of zero (every account would be eligible without stake).
    error ZeroMinStake();
    /// @notice The treasury cannot be the zero address.
    error ZeroTreasury();
    /// @notice The unbonding period must be at least the challenge window, so that stake behind a
    ///         batch can still be slashed while the batch can be challenged.
    error UnbondingShorterThanChallengeWindow(uint256 unbondingPeriod, uint256 challengeWindow);

    /// @notice Emitted by every setter and, once per parameter, by the constructor.
    /// @param parameter the parameter's name, e.g. "feeBps" (as bytes32, left-aligned ASCII)
    /// @param oldValue the previous value (an address is given as its uint160)
    /// @param newValue the new value
    event ParameterChanged(bytes32 indexed parameter, uint256 oldValue, uint256 newValue);

    /// @notice All parameters at once, for constructors and `parameters()`.
    struct Parameters {
        uint16 feeBps;
        uint16 slashBps;
        uint64 unbondingPeriod;
        uint64 settlementPeriod;
        uint64 challengeWindow;
        uint256 minStake;
        address treasury;
        uint64 epochLength;
        uint256 availabilityPool;
        uint16 challengeRate;
    }

    /// @inheritdoc IProtocolConfig
    uint16 public feeBps;
    /// @inheritdoc IProtocolConfig
    uint16 public slashBps;
    /// @inheritdoc IProtocolConfig
    uint64 public unbondingPeriod;
    /// @inheritdoc IProtocolConfig
    uint64 public settlementPeriod;
    /// @inheritdoc IProtocolConfig
    uint64 public challengeWindow;
    /// @inheritdoc IProtocolConfig
    uint256 public minStake;
    /// @inheritdoc IProtocolConfig
    address public treasury;
    /// @inheritdoc IProtocolConfig
    uint64 public epochLength;
    /// @inheritdoc IProtocolConfig
    uint256 public availabilityPool;
    /// @inheritdoc IProtocolConfig
    uint16 public challengeRate;

    /// @param governance the initial owner (the TimelockController)
    /// @param initial the initial parameters, checked like the setters check them
    constructor(address governance, Parameters memory initial) Ownable(governance) {
        _setFeeBps(initial.feeBps);
        _setSlashBps(initial.slashBps);
        _setMinStake(initial.minStake);
        _setTreasury(initial.treasury);
        _setSettlementPeriod(initial.settlementPeriod);
        _checkPeriod(initial.challengeWindow, 1);
        _checkPeriod(initial.unbondingPeriod, 0);
        _emit("challengeWindow", 0, initial.challengeWindow);
        challengeWindow = initial.challengeWindow;
        _setUnbondingPeriod(initial.unbondingPeriod);
        _setEpochLength(initial.epochLength);
        _setAvailabilityPool(initial.availabilityPool);
        _setChallengeRate(initial.challengeRate);
    }

    /// @notice All parameters in one call.
    /// @return p the current parameters
    function parameters() external view returns (Parameters memory p) {
        return Parameters(
            feeBps,
            slashBps,
            unbondingPeriod,
            settlementPeriod,
            challengeWindow,
            minStake,
            treasury,
            epochLength,
            availabilityPool,
            challengeRate
        );
    }

    /// @notice Sets the protocol fee on settled payouts. Only governance.
    /// @param value basis points, at most `MAX_FEE_BPS`
    function setFeeBps(uint16 value) external onlyOwner {
        _setFeeBps(value);
    }

    /// @notice Sets the fraction of stake slashed per proven offence. Only governance.
    /// @param value basis points, 1..10_000
    function setSlashBps(uint16 value) external onlyOwner {
        _setSlashBps(value);
    }

    /// @notice Sets the own stake a provider needs to serve. Only governance.
    /// @param value token wei, non-zero
    function setMinStake(uint256 value) external onlyOwner {
        _setMinStake(value);
    }

    /// @notice Sets the unbonding period. Only governance.
    /// @param value seconds, at least `challengeWindow`, at most `MAX_PERIOD`
    function setUnbondingPeriod(uint64 value) external onlyOwner {
        _setUnbondingPeriod(value);
    }

    /// @notice Sets the settlement period the gateway batches receipts by. Only governance.
    /// @param value seconds, 1..`MAX_PERIOD`
    function setSettlementPeriod(uint64 value) external onlyOwner {
        _setSettlementPeriod(value);
    }

    /// @notice Sets the challenge window of batches posted from now on. Only governance.
    /// @param value seconds, 1..`unbondingPeriod`
    function setChallengeWindow(uint64 value) external onlyOwner {
        _checkPeriod(value, 1);
        if (value > unbondingPeriod) revert UnbondingShorterThanChallengeWindow(unbondingPeriod, value);
        _emit("challengeWindow", challengeWindow, value);
        challengeWindow = value;
    }

    /// @notice Sets the receiver of protocol fees and slashed stake. Only governance.
    /// @param value the new treasury, non-zero
    function setTreasury(address value) external onlyOwner {
        _setTreasury(value);
    }

    /// @notice Sets the length of availability epochs. Only governance. Epochs are numbered from
    ///         time zero, so a change renumbers them: change it between reward batches.
    /// @param value seconds, 1..`MAX_PERIOD`
    function setEpochLength(uint64 value) external onlyOwner {
        _setEpochLength(value);
    }

    /// @notice Sets the most emission one epoch's availability rewards may use. Only governance.
    /// @param value token wei per epoch (0 turns availability rewards off)
    function setAvailabilityPool(uint256 value) external onlyOwner {
        _setAvailabilityPool(value);
    }

    /// @notice Sets how many availability challenges each device gets per epoch. Only governance.
    /// @param value challenges, 0..`MAX_CHALLENGE_RATE` (0 turns challenges off)
    function setChallengeRate(uint16 value) external onlyOwner {
        _setChallengeRate(value);
    }

    function _setEpochLength(uint64 value) private {
        _checkPeriod(value, 1);
        _emit("epochLength", epochLength, value);
        epochLength = value;
    }

    function _setAvailabilityPool(uint256 value) private {
        _emit("availabilityPool", availabilityPool, value);
        availabilityPool = value;
    }

    function _setChallengeRate(uint16 value) private {
        if (value > MAX_CHALLENGE_RATE) revert ChallengeRateTooHigh(value, MAX_CHALLENGE_RATE);
        _emit("challengeRate", challengeRate, value);
        challengeRate = value;
    }

    function _setFeeBps(uint16 value) private {
        if (value > MAX_FEE_BPS) revert FeeTooHigh(value, MAX_FEE_BPS);
        _emit("feeBps", feeBps, value);
        feeBps = value;
    }

    function _setSlashBps(uint16 value) private {
        if (value == 0 || value > BPS) revert BpsOutOfRange(value, 1, BPS);
        _emit("slashBps", slashBps, value);
        slashBps = value;
    }

    function _setMinStake(uint256 value) private {
        if (value == 0) revert ZeroMinStake();
        _emit("minStake", minStake, value);
        minStake = value;
    }

    function _setUnbondingPeriod(uint64 value) private {
        _checkPeriod(value, 0);
        if (value < challengeWindow) revert UnbondingShorterThanChallengeWindow(value, challengeWindow);
        _emit("unbondingPeriod", unbondingPeriod, value);
        unbondingPeriod = value;
    }

    function _setSettlementPeriod(uint64 value) private {
        _checkPeriod(value, 1);
        _emit("settlementPeriod", settlementPeriod, value);
        settlementPeriod = value;
    }

    function _setTreasury(address value) private {
        if (value == address(0)) revert ZeroTreasury();
        _emit("treasury", uint160(treasury), uint160(value));
        treasury = value;
    }

    function _checkPeriod(uint64 value, uint64 min) private pure {
        if (value < min || value > MAX_PERIOD) revert PeriodOutOfRange(value, min, MAX_PERIOD);
    }

    function _emit(bytes32 parameter, uint256 oldValue, uint256 newValue) private {
        emit ParameterChanged(parameter, oldValue, newValue);
    }

    /// @inheritdoc IProtocolConfig
    function owner() public view override(Ownable, IProtocolConfig) returns (address) {
        return super.owner();
    }
}
