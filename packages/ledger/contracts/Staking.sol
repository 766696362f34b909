// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProtocolConfig} from "./interfaces/IProtocolConfig.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Staking
/// @notice Providers stake LODE to serve; anyone can delegate to a provider (DPoS-style). Each
///         provider has a bonded pool, accounted in shares, holding its own stake and its
///         delegations, so a slash lowers every staker of that provider in proportion.
///         `unbond` moves tokens from the bonded pool into the provider's unbonding pool (also
///         share-accounted); `withdraw` pays them out once `unbondingPeriod` has passed.
/// @dev Unbonding funds stay slashable until withdrawn: an offence found during the challenge
///      window of a settlement batch (ProtocolConfig keeps unbondingPeriod >= challengeWindow)
///      still costs a provider who unbonded right after committing it. A slash takes from the
///      bonded and the unbonding pool in proportion to their sizes. Pools track tokens
///      internally (tokens sent to this contract directly are not part of any pool), so the
///      share price can only be lowered by slashes and raised by rounding dust. A pool slashed to
///      zero starts a new generation, which makes all of its old shares worthless.
contract Staking is AccessControl, IStaking {
    using SafeERC20 for IERC20;

    /// @notice The role allowed to slash: the gateway's verifier account.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice The most unbonding requests one staker may have open (bounds `withdraw`'s loop).
    uint256 public constant MAX_UNBONDING_REQUESTS = 32;

    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice A provider or constructor address of zero.
    error ZeroAddress();
    /// @notice The amount buys no pool share at the current share price.
    error AmountTooSmall(uint256 amount);
    /// @notice The caller's stake with `provider` is below the amount to unbond.
    error InsufficientStake(address provider, uint256 available, uint256 requested);
    /// @notice The staker already has `MAX_UNBONDING_REQUESTS` open requests.
    error TooManyUnbondingRequests();
    /// @notice `withdraw` found no unbonding request at all.
    error NothingToWithdraw();
    /// @notice `withdraw` found requests, none released yet; the earliest releases at `releaseAt`.
    error UnbondingNotFinished(uint64 releaseAt);
    /// @notice The provider has no stake (bonded or unbonding) to slash.
    error NothingToSlash(address provider);
    /// @notice A slash must carry a non-zero evidence hash.
    error MissingEvidence();
    /// @notice This evidence has already been used to slash this provider.
    error EvidenceAlreadyUsed(address provider, bytes32 evidenceHash);

    /// @notice Tokens entered `provider`'s bonded pool on behalf of `staker`.
    /// @param provider the provider staked to
    /// @param staker the owner of the new shares (the provider itself for stake/stakeFor)
    /// @param payer the account the tokens came from
    /// @param amount tokens (wei)
    /// @param shares pool shares minted
    event Staked(address indexed provider, address indexed staker, address payer, uint256 amount, uint256 shares);
    /// @notice `staker` started unbonding `amount` tokens from `provider`.
    event Unbonding(address indexed provider, address indexed staker, uint256 amount, uint64 releaseAt);
    /// @notice `staker` withdrew released unbonded tokens.
    event Withdrawn(address indexed staker, uint256 amount);
    /// @notice `provider` was slashed `amount` tokens, sent to the treasury.
    /// @param fromBonded the part taken from the bonded pool
    /// @param fromUnbonding the part taken from the unbonding pool
    /// @param evidenceHash the verifier's reference to the proof of the offence
    event Slashed(
        address indexed provider, uint256 amount, uint256 fromBonded, uint256 fromUnbonding, bytes32 indexed evidenceHash
    );

    /// @dev A pool of tokens held for one provider, owned by shares. `generation` increases
    ///      whenever the pool is slashed to zero tokens, voiding all earlier shares.
    struct Pool {
        uint128 tokens;
        uint32 generation;
        uint256 shares;
    }

    /// @dev A staker's shares in a bonded pool, valid only in the pool's current generation.
    struct Position {
        uint192 shares;
        uint32 generation;
    }

    /// @notice An open unbonding request.
    struct UnbondingRequest {
        address provider;
        uint64 releaseAt;
        uint32 generation;
        uint256 shares;
    }

    /// @notice An open unbonding request as `unbondingRequestsOf` reports it.
    struct UnbondingView {
        address provider;
        uint256 amount;
        uint64 releaseAt;
    }

    /// @notice The staked token.
    IERC20 public immutable token;
    /// @notice Where minStake, slashBps, unbondingPeriod and the treasury are read.
    IProtocolConfig public immutable config;

    mapping(address provider => Pool) private _bonded;
    mapping(address provider => Pool) private _unbonding;
    mapping(address provider => mapping(address staker => Position)) private _positions;
    mapping(address staker => UnbondingRequest[]) private _requests;
    mapping(bytes32 providerEvidence => bool) private _evidenceUsed;

    /// @param token_ the staked token
    /// @param config_ the protocol parameters
    /// @param admin receives DEFAULT_ADMIN_ROLE (governance, after deployment)
    constructor(IERC20 token_, IProtocolConfig config_, address admin) {
        if (address(token_) == address(0) || address(config_) == address(0) || admin == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        config = config_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- staking

    /// @notice Stakes `amount` tokens (approved to this contract) as the caller's own provider stake.
    /// @param amount tokens (wei)
    function stake(uint256 amount) external {
        _bond(msg.sender, msg.sender, amount);
    }

    /// @notice Adds `amount` tokens, pulled from the caller, to `provider`'s own stake. JobEscrow
    ///         uses it to restake claimed earnings; anyone may use it to top up a provider.
    /// @param provider whose own stake grows
    /// @param amount tokens (wei)
    function stakeFor(address provider, uint256 amount) external {
        _bond(provider, provider, amount);
    }

    /// @notice Delegates `amount` tokens (approved to this contract) to `provider`. The delegation
    ///         shares the provider's slashes in proportion.
    /// @param provider the provider delegated to
    /// @param amount tokens (wei)
    function delegate(address provider, uint256 amount) external {
        _bond(provider, msg.sender, amount);
    }

    /// @notice Starts unbonding `amount` tokens of the caller's stake with `provider` (the caller's
    ///         own stake when `provider` is the caller). The tokens leave the bonded pool at once
    ///         and can be withdrawn after `unbondingPeriod`; until then they can still be slashed.
    /// @param provider the provider the stake is with
    /// @param amount tokens (wei); `type(uint256).max` unbonds the whole position
    /// @return releaseAt when `withdraw` can pay these tokens out
    function unbond(address provider, uint256 amount) external returns (uint64 releaseAt) {
        if (amount == 0) revert ZeroAmount();
        if (_requests[msg.sender].length >= MAX_UNBONDING_REQUESTS) revert TooManyUnbondingRequests();
        Pool storage pool = _bonded[provider];
        Position storage position = _positions[provider][msg.sender];
        uint256 held = position.generation == pool.generation ? position.shares : 0;
        uint256 burn;
        if (amount == type(uint256).max) {
            burn = held;
            amount = _toTokens(pool, held);
            if (amount == 0) revert InsufficientStake(provider, 0, 1);
        } else {
            burn = pool.tokens == 0 ? type(uint256).max : Math.mulDiv(amount, pool.shares, pool.tokens, Math.Rounding.Ceil);
            if (burn > held) revert InsufficientStake(provider, _toTokens(pool, held), amount);
        }
        position.shares = uint192(held - burn);
        position.generation = pool.generation;
        pool.tokens -= SafeCast.toUint128(amount);
        pool.shares -= burn;
        _normalize(pool);

        Pool storage unbonding = _unbonding[provider];
        uint256 shares = _mint(unbonding, amount);
        releaseAt = uint64(block.timestamp) + config.unbondingPeriod();
        _requests[msg.sender].push(UnbondingRequest(provider, releaseAt, unbonding.generation, shares));
        emit Unbonding(provider, msg.sender, amount, releaseAt);
    }

    /// @notice Pays out every unbonding request of the caller whose period has passed (less any
    ///         slashes taken from them meanwhile).
    /// @return amount tokens (wei) sent to the caller
    function withdraw() external returns (uint256 amount) {
        UnbondingRequest[] storage requests = _requests[msg.sender];
        uint256 n = requests.length;
        if (n == 0) revert NothingToWithdraw();
        uint64 earliest = type(uint64).max;
        bool released;
        for (uint256 i = 0; i < n;) {
            UnbondingRequest storage request = requests[i];
            if (request.releaseAt > block.timestamp) {
                if (request.releaseAt < earliest) earliest = request.releaseAt;
                ++i;
                continue;
            }
            released = true;
            Pool storage pool = _unbonding[request.provider];
            if (request.generation == pool.generation) {
                uint256 tokens = _toTokens(pool, request.shares);
                pool.tokens -= uint128(tokens);
                pool.shares -= request.shares;
                _normalize(pool);
                amount += tokens;
            }
            requests[i] = requests[n - 1];
            requests.pop();
            --n;
        }
        if (!released) revert UnbondingNotFinished(earliest);
        emit Withdrawn(msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    /// @notice Slashes `provider` by `amount` tokens (capped at its bonded plus unbonding stake),
    ///         taken from both pools in proportion, and sends them to the treasury. Only
    ///         SLASHER_ROLE; each (provider, evidenceHash) pair slashes once.
    /// @param provider the offending provider
    /// @param amount tokens (wei) to slash; see `slashAmountFor`
    /// @param evidenceHash the verifier's reference to the proof of the offence (non-zero)
    /// @return slashed tokens (wei) actually taken
    function slash(address provider, uint256 amount, bytes32 evidenceHash)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 slashed)
    {
        if (amount == 0) revert ZeroAmount();
        if (evidenceHash == bytes32(0)) revert MissingEvidence();
        bytes32 key = keccak256(abi.encode(provider, evidenceHash));
        if (_evidenceUsed[key]) revert EvidenceAlreadyUsed(provider, evidenceHash);
        _evidenceUsed[key] = true;

        Pool storage bonded = _bonded[provider];
        Pool storage unbonding = _unbonding[provider];
        uint256 total = uint256(bonded.tokens) + unbonding.tokens;
        if (total == 0) revert NothingToSlash(provider);
        slashed = amount < total ? amount : total;
        uint256 fromBonded = Math.mulDiv(slashed, bonded.tokens, total);
        uint256 fromUnbonding = slashed - fromBonded;
        bonded.tokens -= uint128(fromBonded);
        unbonding.tokens -= uint128(fromUnbonding);
        _normalize(bonded);
        _normalize(unbonding);
        emit Slashed(provider, slashed, fromBonded, fromUnbonding, evidenceHash);
        token.safeTransfer(config.treasury(), slashed);
    }

    // ---------------------------------------------------------------- views

    /// @notice The provider's own bonded stake, in tokens.
    /// @param provider the provider
    /// @return tokens (wei)
    function stakeOf(address provider) external view returns (uint256) {
        return _positionTokens(provider, provider);
    }

    /// @notice All bonded stake with the provider (own stake plus delegations), in tokens.
    /// @param provider the provider
    /// @return tokens (wei)
    function totalStakeOf(address provider) external view returns (uint256) {
        return _bonded[provider].tokens;
    }

    /// @notice Tokens unbonding from the provider (still slashable), all stakers together.
    /// @param provider the provider
    /// @return tokens (wei)
    function unbondingStakeOf(address provider) external view returns (uint256) {
        return _unbonding[provider].tokens;
    }

    /// @notice `delegator`'s bonded stake with `provider`, in tokens (the provider's own stake
    ///         when `delegator == provider`).
    /// @param provider the provider
    /// @param delegator the staker
    /// @return tokens (wei)
    function delegationOf(address provider, address delegator) external view returns (uint256) {
        return _positionTokens(provider, delegator);
    }

    /// @notice Whether the provider's own bonded stake reaches ProtocolConfig.minStake.
    /// @param provider the provider
    /// @return eligible true when it may serve
    function isEligible(address provider) external view returns (bool eligible) {
        return _positionTokens(provider, provider) >= config.minStake();
    }

    /// @notice What one proven offence costs the provider now: (bonded + unbonding stake) × slashBps.
    /// @param provider the provider
    /// @return tokens (wei) to pass to `slash`
    function slashAmountFor(address provider) external view returns (uint256) {
        uint256 total = uint256(_bonded[provider].tokens) + _unbonding[provider].tokens;
        return total * config.slashBps() / 10_000;
    }

    /// @notice The raw pools of a provider, for indexers and invariant checks.
    /// @return bondedTokens tokens in the bonded pool
    /// @return bondedShares shares of the bonded pool
    /// @return unbondingTokens tokens in the unbonding pool
    /// @return unbondingShares shares of the unbonding pool
    function poolOf(address provider)
        external
        view
        returns (uint256 bondedTokens, uint256 bondedShares, uint256 unbondingTokens, uint256 unbondingShares)
    {
        Pool storage b = _bonded[provider];
        Pool storage u = _unbonding[provider];
        return (b.tokens, b.shares, u.tokens, u.shares);
    }

    /// @notice The staker's open unbonding requests, valued at the current unbonding share price.
    /// @param staker the staker
    /// @return requests provider, amount (tokens) and release time of each request
    function unbondingRequestsOf(address staker) external view returns (UnbondingView[] memory requests) {
        UnbondingRequest[] storage stored = _requests[staker];
        requests = new UnbondingView[](stored.length);
        for (uint256 i = 0; i < stored.length; ++i) {
            UnbondingRequest storage r = stored[i];
            Pool storage pool = _unbonding[r.provider];
            uint256 amount = r.generation == pool.generation ? _toTokens(pool, r.shares) : 0;
            requests[i] = UnbondingView(r.provider, amount, r.releaseAt);
        }
    }

    /// @notice Tokens `withdraw` would pay the staker now.
    /// @param staker the staker
    /// @return amount tokens (wei) released and not yet withdrawn
    function withdrawableOf(address staker) external view returns (uint256 amount) {
        UnbondingRequest[] storage stored = _requests[staker];
        for (uint256 i = 0; i < stored.length; ++i) {
            UnbondingRequest storage r = stored[i];
            Pool storage pool = _unbonding[r.provider];
            if (r.releaseAt <= block.timestamp && r.generation == pool.generation) {
                amount += _toTokens(pool, r.shares);
            }
        }
    }

    // ---------------------------------------------------------------- internals

    function _bond(address provider, address staker, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (provider == address(0)) revert ZeroAddress();
        Pool storage pool = _bonded[provider];
        Position storage position = _positions[provider][staker];
        uint256 held = position.generation == pool.generation ? position.shares : 0;
        uint256 shares = _mint(pool, amount);
        position.shares = SafeCast.toUint192(held + shares);
        position.generation = pool.generation;
        emit Staked(provider, staker, msg.sender, amount, shares);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Adds `amount` tokens to `pool`, returning the shares they buy (rounded down).
    function _mint(Pool storage pool, uint256 amount) private returns (uint256 shares) {
        shares = pool.shares == 0 ? amount : Math.mulDiv(amount, pool.shares, pool.tokens);
        if (shares == 0) revert AmountTooSmall(amount);
        pool.tokens += SafeCast.toUint128(amount);
        pool.shares += shares;
    }

    /// @dev Shares of an empty pool are worthless: start a new generation so that they stay so.
    function _normalize(Pool storage pool) private {
        if (pool.tokens == 0 && pool.shares != 0) {
            pool.shares = 0;
            ++pool.generation;
        }
    }

    function _toTokens(Pool storage pool, uint256 shares) private view returns (uint256) {
        return pool.shares == 0 ? 0 : Math.mulDiv(shares, pool.tokens, pool.shares);
    }

    function _positionTokens(address provider, address staker) private view returns (uint256) {
        Pool storage pool = _bonded[provider];
        Position storage position = _positions[provider][staker];
        return position.generation == pool.generation ? _toTokens(pool, position.shares) : 0;
    }
}
