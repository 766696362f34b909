// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";

/// @title DeviceShares
/// @notice Fractional ownership of one device's income: an ERC-20 of `totalShares` whole shares
///         (decimals 0), cloned by DeviceRegistry on `split`. Every LODE the contract receives
///         (JobEscrow pays the device's claims here while it is split) is income, shared among
///         holders pro rata to the shares they held when it arrived. Pull-based: nothing loops
///         over holders; each claims with `claim`.
///
///         Exact to the wei: income is recognised as a running total R (tokens received), and a
///         holder's credit is the exact integer sum over the income it was present for,
///         R·balance plus a correction written on every transfer. Its earnings are
///         floor(credit / totalShares): exactly floor(its pro-rata part of the income) — no
///         rounding per payout. The rounding dust, R − Σ earnings, is below one wei per holder
///         and stays here (`recoverStray` never takes it).
/// @dev Income is computed, never reported: R = balance + withdrawn + stray paid out. After
///      `close` (unsplit) R is frozen; tokens arriving later are stray and `recoverStray` sends
///      them to the device's payee.
contract DeviceShares is ERC20, Initializable {
    using SafeERC20 for IERC20;

    /// @notice Only the registry may do this.
    error NotRegistry(address caller);
    /// @notice Unsplitting needs every share in one hand.
    error NotAllShares(address holder, uint256 held, uint256 total);
    /// @notice The account has nothing to claim.
    error NothingToClaim(address holder);
    /// @notice The share contract is closed: income is no longer shared here.
    error SharesClosed();
    /// @notice There is no stray income to recover (or the contract is still open).
    error NoStray();

    /// @notice `holder` was paid `amount` of its earnings.
    event IncomeClaimed(address indexed holder, uint256 amount);
    /// @notice The split ended: every share was burnt by `holder`.
    event SharesClosedBy(address indexed holder, uint256 incomeTotal);
    /// @notice Tokens received after `close` were sent to the device's payee.
    event StrayRecovered(address indexed payee, uint256 amount);

    /// @notice The income token (LodeToken).
    IERC20 public token;
    /// @notice The DeviceRegistry that cloned this contract.
    address public registry;
    /// @notice The device's node address (its token id is uint160(node)).
    address public node;
    /// @notice How many shares the device was split into (fixed for the contract's life).
    uint256 public totalShares;
    /// @notice Whether the split ended (`close`).
    bool public closed;
    /// @notice Income recognised so far (tokens received), R.
    uint256 public incomeTotal;
    /// @notice Earnings paid to holders so far.
    uint256 public withdrawnTotal;
    /// @notice Stray tokens (received after close) paid to the device's payee so far.
    uint256 public strayPaid;

    mapping(address holder => int256) private _corrections;
    mapping(address holder => uint256) private _withdrawn;

    constructor() ERC20("", "") {
        _disableInitializers();
    }

    /// @notice Sets up a clone: `count` shares minted to `owner`. Called once, by the registry.
    /// @param token_ the income token
    /// @param node_ the device's node
    /// @param owner receives every share
    /// @param count total shares
    function initialize(IERC20 token_, address node_, address owner, uint256 count) external initializer {
        token = token_;
        registry = msg.sender;
        node = node_;
        totalShares = count;
        _mint(owner, count);
    }

    /// @notice Ends the split: burns every share, which `holder` must hold. Only the registry.
    /// @param holder the account unsplitting
    function close(address holder) external {
        if (msg.sender != registry) revert NotRegistry(msg.sender);
        uint256 held = balanceOf(holder);
        if (held != totalShares) revert NotAllShares(holder, held, totalShares);
        _burn(holder, held);
        closed = true;
        emit SharesClosedBy(holder, incomeTotal);
    }

    /// @notice Pays the caller its unclaimed earnings.
    /// @return amount tokens (wei) paid
    function claim() external returns (uint256 amount) {
        return claimFor(msg.sender);
    }

    /// @notice Pays `holder` its unclaimed earnings (anyone may trigger it; the tokens go to `holder`).
    /// @param holder the shareholder (present or past)
    /// @return amount tokens (wei) paid
    function claimFor(address holder) public returns (uint256 amount) {
        _sync();
        amount = _earned(holder) - _withdrawn[holder];
        if (amount == 0) revert NothingToClaim(holder);
        _withdrawn[holder] += amount;
        withdrawnTotal += amount;
        emit IncomeClaimed(holder, amount);
        token.safeTransfer(holder, amount);
    }

    /// @notice Sends tokens that arrived after `close` to the device's current payee.
    /// @return amount tokens (wei) sent
    function recoverStray() external returns (uint256 amount) {
        if (!closed) revert NoStray();
        amount = _received() - incomeTotal;
        if (amount == 0) revert NoStray();
        strayPaid += amount;
        (address payee,) = IDeviceRegistry(registry).payeeOf(node);
        emit StrayRecovered(payee, amount);
        token.safeTransfer(payee, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice What `holder` can claim now (income received but not yet recognised included).
    /// @param holder the shareholder (present or past)
    /// @return tokens (wei)
    function claimableOf(address holder) external view returns (uint256) {
        uint256 income = closed ? incomeTotal : _received();
        return _credit(holder, income) / totalShares - _withdrawn[holder];
    }

    /// @notice Everything `holder` has earned, claimed or not (recognised income only).
    /// @param holder the shareholder
    /// @return tokens (wei)
    function earnedOf(address holder) external view returns (uint256) {
        return _earned(holder);
    }

    /// @notice What `holder` has claimed so far.
    /// @param holder the shareholder
    /// @return tokens (wei)
    function withdrawnOf(address holder) external view returns (uint256) {
        return _withdrawn[holder];
    }

    /// @notice Shares are whole: decimals 0.
    function decimals() public pure override returns (uint8) {
        return 0;
    }

    /// @notice "Lode device shares".
    function name() public pure override returns (string memory) {
        return "Lode device shares";
    }

    /// @notice "LODESH".
    function symbol() public pure override returns (string memory) {
        return "LODESH";
    }

    // ---------------------------------------------------------------- internals

    /// @dev Every balance change first recognises pending income, then moves the credit that
    ///      the moved shares carry, so that credit accrues only while shares are held.
    function _update(address from, address to, uint256 value) internal override {
        _sync();
        int256 carried = SafeCast.toInt256(incomeTotal * value);
        if (from != address(0)) _corrections[from] += carried;
        if (to != address(0)) _corrections[to] -= carried;
        super._update(from, to, value);
    }

    function _sync() private {
        if (closed) return;
        uint256 received = _received();
        if (received != incomeTotal) incomeTotal = received;
    }

    function _received() private view returns (uint256) {
        return token.balanceOf(address(this)) + withdrawnTotal + strayPaid;
    }

    function _earned(address holder) private view returns (uint256) {
        return _credit(holder, incomeTotal) / totalShares;
    }

    function _credit(address holder, uint256 income) private view returns (uint256) {
        return SafeCast.toUint256(SafeCast.toInt256(income * balanceOf(holder)) + _corrections[holder]);
    }
}
