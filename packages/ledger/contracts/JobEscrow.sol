// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProtocolConfig} from "./interfaces/IProtocolConfig.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {ILodeEmission} from "./interfaces/ILodeEmission.sol";

/// @title JobEscrow
/// @notice Holds requesters' payment for jobs and settles it to providers in batches.
///
///         1. A requester `deposit`s for a job (approve or permit); the first deposit makes the
///            caller the job's requester, later top-ups are the requester's alone.
///         2. The gateway (SETTLER_ROLE) `postBatch`es: it debits jobs' escrow and commits a
///            Merkle root of provider payouts (OpenZeppelin StandardMerkleTree over
///            ['address','uint256'] = (provider, amount)). The protocol fee is
///            `sum(debits) * feeBps / 10_000` (rounded down); providers share the rest.
///         3. During the challenge window a requester of a debited job may `challenge` (then
///            governance decides with `resolveDispute`) and the gateway may `voidBatch`; a voided
///            batch returns every debit, fee included, to the jobs' escrow.
///         4. Once final, providers `claim` with proofs (once per batch), optionally restaking,
///            and anyone can `sweepFees` to the treasury.
///         5. `closeJob` refunds what is left: by the gateway when the job has ended and its last
///            batch is posted, or by the requester once the escrow has expired.
///         6. Availability rewards use the same batches and claims: this contract is LodeToken's
///            reward pool, and once per epoch the gateway `postRewardBatch`es a root of
///            (node, reward) funded from the emission (at most `availabilityPool` per epoch).
///         A registered device's payouts go to `registry.payeeOf(node)` — its token's holder, or
///         its share contract while split — whoever sends the claim (`claim` or `claimDevice`).
///
/// @dev Invariant: token.balanceOf(this) == sum of job balances + sum over batches not voided of
///      (payoutTotal - claimedTotal) + fees of final batches not yet swept + fees of batches
///      still pending or disputed + emission received and not yet allocated to a reward batch.
///      Per batch only its root, totals, times, status and the hash of
///      its (jobIds, debits) lists are stored; the lists themselves are in `BatchPosted` and must
///      be passed back to `challenge`, `resolveDispute` and `voidBatch`. The token is LodeToken
///      (no transfer hooks); state changes still precede every external call.
contract JobEscrow is AccessControl {
    using SafeERC20 for IERC20;

    /// @notice The role that posts and voids batches and closes ended jobs: the gateway.
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    /// @notice Lifecycle of a settlement batch. `Pending` batches become final when the
    ///         challenge window ends; `Upheld` ones are final at once; `Voided` ones never are.
    enum BatchStatus {
        None,
        Pending,
        Disputed,
        Upheld,
        Voided
    }

    /// @notice A job's escrow.
    struct Job {
        uint128 balance;
        uint64 expiresAt;
        bool closed;
        address requester;
    }

    /// @notice What is stored per settlement batch.
    struct Batch {
        bytes32 payoutRoot;
        bytes32 listsHash;
        uint128 payoutTotal;
        uint128 claimedTotal;
        uint128 fee;
        uint48 postedAt;
        uint48 finalAt;
        BatchStatus status;
        bool feeSwept;
    }

    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice A constructor address of zero.
    error ZeroAddress();
    /// @notice A first deposit must expire in the future.
    error InvalidExpiry(uint64 expiresAt);
    /// @notice Only the job's requester may do this (top up, close after expiry).
    error NotRequester(bytes32 jobId, address caller);
    /// @notice The job is closed: no more deposits, debits or closing.
    error JobClosed(bytes32 jobId);
    /// @notice No deposit was ever made for this job.
    error UnknownJob(bytes32 jobId);
    /// @notice The job's escrow cannot cover the debit.
    error InsufficientEscrow(bytes32 jobId, uint256 balance, uint256 debit);
    /// @notice A batch needs at least one job.
    error EmptyBatch();
    /// @notice Arrays that must have the same length do not.
    error LengthMismatch(uint256 a, uint256 b);
    /// @notice A payout root of zero.
    error ZeroRoot();
    /// @notice No batch has this id.
    error UnknownBatch(uint256 batchId);
    /// @notice The batch is not final yet (challenge window open, disputed) or was voided.
    error BatchNotFinal(uint256 batchId);
    /// @notice The caller already claimed from this batch.
    error AlreadyClaimed(uint256 batchId, address provider);
    /// @notice The proof does not show (caller, amount) in the batch's payout tree.
    error InvalidProof(uint256 batchId);
    /// @notice Paying this claim would exceed the batch's payout total.
    error ClaimExceedsPayout(uint256 batchId, uint256 claimedTotal, uint256 payoutTotal);
    /// @notice The batch is not in a state that allows this.
    error InvalidBatchStatus(uint256 batchId, BatchStatus status);
    /// @notice The challenge window of the batch has ended.
    error ChallengeWindowClosed(uint256 batchId, uint48 finalAt);
    /// @notice The (jobIds, debits) lists passed do not hash to the batch's stored lists hash.
    error BatchListsMismatch(uint256 batchId);
    /// @notice The caller is not the requester of any job the batch debits.
    error NotBatchRequester(uint256 batchId, address caller);
    /// @notice Only governance (ProtocolConfig's owner, the timelock) may resolve disputes.
    error NotGovernance(address caller);
    /// @notice The requester may close only after the escrow's expiry.
    error JobNotExpired(bytes32 jobId, uint64 expiresAt);
    /// @notice The batch's fee was already swept to the treasury.
    error FeesAlreadySwept(uint256 batchId);
    /// @notice A registered device's income is paid to its owner(s): it cannot be restaked by the node.
    error DeviceIncomeNotRestakable(address node);
    /// @notice `claimDevice` is for registered devices; an unregistered node claims with `claim`.
    error NotADevice(address node);
    /// @notice A reward batch for an epoch that has not ended.
    error EpochNotOver(uint64 epoch, uint256 endsAt);
    /// @notice The epoch already has a reward batch (void it first to post another).
    error EpochAlreadySettled(uint64 epoch, uint256 batchId);
    /// @notice A reward batch above the epoch's pool, or above the emission received.
    error RewardAboveBudget(uint256 total, uint256 budget);

    /// @notice A deposit into a job's escrow.
    /// @param balance the job's escrow after the deposit
    /// @param expiresAt the escrow's expiry after the deposit
    event Deposited(bytes32 indexed jobId, address indexed requester, uint256 amount, uint256 balance, uint64 expiresAt);
    /// @notice A settlement batch was posted. The lists are here for indexers and for passing back
    ///         to `challenge`/`resolveDispute`/`voidBatch`.
    event BatchPosted(
        uint256 indexed batchId,
        bytes32 payoutRoot,
        uint256 payoutTotal,
        uint256 fee,
        uint48 finalAt,
        bytes32[] jobIds,
        uint256[] debits
    );
    /// @notice `provider` claimed `amount` from batch `batchId`.
    event Claimed(uint256 indexed batchId, address indexed provider, uint256 amount, bool restaked);
    /// @notice A requester challenged a batch; it waits for governance.
    event BatchChallenged(uint256 indexed batchId, address indexed challenger);
    /// @notice Governance resolved a dispute: upheld (final) or rejected (voided).
    event DisputeResolved(uint256 indexed batchId, bool upheld);
    /// @notice A batch was voided; its debits returned to the jobs (to the requester for a closed job).
    event BatchVoided(uint256 indexed batchId, address indexed by);
    /// @notice Fees of final batches were sent to the treasury.
    event FeesSwept(address indexed treasury, uint256 amount);
    /// @notice A reward batch (its `BatchPosted` has empty lists and no fee) for `epoch`.
    event RewardBatchPosted(uint256 indexed batchId, uint64 indexed epoch, uint256 total);
    /// @notice A registered device's claim from `batchIds` went to `payee`.
    event DevicePaid(address indexed node, address indexed payee, uint256 amount);
    /// @notice A job was closed and its remaining balance refunded to the requester.
    event EscrowClosed(bytes32 indexed jobId, address indexed requester, uint256 refund, address closedBy);

    /// @notice The escrowed token (LodeToken).
    IERC20 public immutable token;
    /// @notice Where feeBps, challengeWindow, the treasury and governance are read.
    IProtocolConfig public immutable config;
    /// @notice Where `claim(..., restake = true)` stakes earnings.
    IStaking public immutable staking;
    /// @notice Who receives a registered device's payouts.
    IDeviceRegistry public immutable registry;
    /// @notice Id of the last batch posted (ids start at 1).
    uint256 public batchCount;
    /// @notice Emission allocated to reward batches not voided (claimed or not).
    uint256 public rewardsAllocated;

    mapping(bytes32 jobId => Job) private _jobs;
    mapping(uint256 batchId => Batch) private _batches;
    /// @dev Per provider, one bit per batch id (word = id >> 8): claiming batches posted close
    ///      together touches one storage word, and a provider's later claims rewrite a non-zero word.
    mapping(address provider => mapping(uint256 word => uint256 bits)) private _claimedBits;
    /// @dev The reward batch of an epoch, and the epoch + 1 of a reward batch (0: a job batch).
    mapping(uint64 epoch => uint256 batchId) private _epochBatch;
    mapping(uint256 batchId => uint256 epochPlusOne) private _batchEpoch;

    /// @param token_ the escrowed token
    /// @param config_ the protocol parameters
    /// @param staking_ the staking contract (for restaking)
    /// @param registry_ the device registry (where registered devices' payouts go)
    /// @param admin receives DEFAULT_ADMIN_ROLE (governance, after deployment)
    constructor(IERC20 token_, IProtocolConfig config_, IStaking staking_, IDeviceRegistry registry_, address admin) {
        if (
            address(token_) == address(0) || address(config_) == address(0) || address(staking_) == address(0)
                || address(registry_) == address(0) || admin == address(0)
        ) revert ZeroAddress();
        token = token_;
        config = config_;
        staking = staking_;
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- requesters

    /// @notice Deposits `amount` tokens (approved to this contract) into `jobId`'s escrow. The
    ///         first deposit makes the caller the job's requester and sets the expiry; later
    ///         deposits are the requester's alone and can only extend the expiry.
    /// @param jobId the job (the protocol's job id, which commits to the requester)
    /// @param amount tokens (wei)
    /// @param expiresAt when the requester may close the job themselves (unix seconds)
    function deposit(bytes32 jobId, uint256 amount, uint64 expiresAt) public {
        if (amount == 0) revert ZeroAmount();
        Job storage job = _jobs[jobId];
        address requester = job.requester;
        if (requester == address(0)) {
            if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);
            job.requester = msg.sender;
            job.expiresAt = expiresAt;
        } else {
            if (requester != msg.sender) revert NotRequester(jobId, msg.sender);
            if (job.closed) revert JobClosed(jobId);
            if (expiresAt > job.expiresAt) job.expiresAt = expiresAt;
        }
        uint128 balance = job.balance + SafeCast.toUint128(amount);
        job.balance = balance;
        emit Deposited(jobId, msg.sender, amount, balance, job.expiresAt);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice `deposit` with an EIP-2612 permit instead of a prior approval. A permit that fails
    ///         (for instance because it was front-run and already used) is ignored, and the
    ///         deposit goes through if the allowance is there anyway.
    /// @param jobId the job
    /// @param amount tokens (wei), also the permit's value
    /// @param expiresAt escrow expiry (unix seconds)
    /// @param permitDeadline the permit signature's deadline
    /// @param v signature v
    /// @param r signature r
    /// @param s signature s
    function depositWithPermit(
        bytes32 jobId,
        uint256 amount,
        uint64 expiresAt,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {}
            catch {}
        deposit(jobId, amount, expiresAt);
    }

    /// @notice Closes a job and refunds its remaining balance to the requester. The gateway
    ///         (SETTLER_ROLE) may close when the job has ended and its last batch is posted; the
    ///         requester may close once `expiresAt` has passed, so escrow is never stuck.
    /// @param jobId the job
    /// @return refund tokens (wei) sent to the requester
    function closeJob(bytes32 jobId) external returns (uint256 refund) {
        Job storage job = _jobs[jobId];
        address requester = job.requester;
        if (requester == address(0)) revert UnknownJob(jobId);
        if (job.closed) revert JobClosed(jobId);
        if (!hasRole(SETTLER_ROLE, msg.sender)) {
            if (msg.sender != requester) revert NotRequester(jobId, msg.sender);
            if (block.timestamp < job.expiresAt) revert JobNotExpired(jobId, job.expiresAt);
        }
        refund = job.balance;
        job.balance = 0;
        job.closed = true;
        emit EscrowClosed(jobId, requester, refund, msg.sender);
        if (refund > 0) token.safeTransfer(requester, refund);
    }

    /// @notice Disputes a batch during its challenge window. Only a requester of a job the batch
    ///         debits; governance then upholds or voids it with `resolveDispute`.
    /// @param batchId the batch
    /// @param jobIds the batch's job list, as in `BatchPosted`
    /// @param debits the batch's debit list, as in `BatchPosted`
    function challenge(uint256 batchId, bytes32[] calldata jobIds, uint256[] calldata debits) external {
        Batch storage batch = _batch(batchId);
        if (batch.status != BatchStatus.Pending) revert InvalidBatchStatus(batchId, batch.status);
        if (block.timestamp >= batch.finalAt) revert ChallengeWindowClosed(batchId, batch.finalAt);
        _checkLists(batch, batchId, jobIds, debits);
        bool isRequester;
        for (uint256 i = 0; i < jobIds.length; ++i) {
            if (_jobs[jobIds[i]].requester == msg.sender) {
                isRequester = true;
                break;
            }
        }
        if (!isRequester) revert NotBatchRequester(batchId, msg.sender);
        batch.status = BatchStatus.Disputed;
        emit BatchChallenged(batchId, msg.sender);
    }

    // ---------------------------------------------------------------- gateway

    /// @notice Posts a settlement batch: debits each job's escrow and commits the payout root.
    ///         Only SETTLER_ROLE. The fee and the challenge deadline are fixed now.
    /// @param payoutRoot root of the StandardMerkleTree over ['address','uint256'] (provider,
    ///        amount) whose amounts sum to `sum(debits) - fee`
    /// @param jobIds the jobs debited (a job may appear more than once)
    /// @param debits what each job pays, in token wei (each non-zero)
    /// @return batchId the new batch's id
    function postBatch(bytes32 payoutRoot, bytes32[] calldata jobIds, uint256[] calldata debits)
        external
        onlyRole(SETTLER_ROLE)
        returns (uint256 batchId)
    {
        if (jobIds.length == 0) revert EmptyBatch();
        if (jobIds.length != debits.length) revert LengthMismatch(jobIds.length, debits.length);
        if (payoutRoot == bytes32(0)) revert ZeroRoot();
        uint256 totalDebit = _debit(jobIds, debits);
        uint256 fee = totalDebit * config.feeBps() / 10_000;
        batchId = ++batchCount;
        Batch storage batch = _batches[batchId];
        batch.payoutRoot = payoutRoot;
        batch.listsHash = keccak256(abi.encode(jobIds, debits));
        batch.payoutTotal = SafeCast.toUint128(totalDebit - fee);
        batch.fee = uint128(fee);
        batch.postedAt = uint48(block.timestamp);
        batch.finalAt = uint48(block.timestamp + config.challengeWindow());
        batch.status = BatchStatus.Pending;
        emit BatchPosted(batchId, payoutRoot, totalDebit - fee, fee, batch.finalAt, jobIds, debits);
    }

    /// @notice Posts an epoch's availability rewards as a batch: a root of (node, reward) over
    ///         the StandardMerkleTree of `postBatch`, funded from emission (released here if
    ///         needed), claimed like job payouts. No fee; empty lists (void it with empty lists).
    ///         Only SETTLER_ROLE; once per epoch, after the epoch ends.
    /// @param epoch floor(time / epochLength) of the epoch rewarded
    /// @param payoutRoot the rewards' root
    /// @param total the sum of the rewards, at most `availabilityPool`
    /// @return batchId the new batch's id
    function postRewardBatch(uint64 epoch, bytes32 payoutRoot, uint256 total)
        external
        onlyRole(SETTLER_ROLE)
        returns (uint256 batchId)
    {
        if (total == 0) revert ZeroAmount();
        if (payoutRoot == bytes32(0)) revert ZeroRoot();
        uint256 endsAt = (uint256(epoch) + 1) * config.epochLength();
        if (block.timestamp < endsAt) revert EpochNotOver(epoch, endsAt);
        if (_epochBatch[epoch] != 0) revert EpochAlreadySettled(epoch, _epochBatch[epoch]);
        uint256 budget = config.availabilityPool();
        if (total > budget) revert RewardAboveBudget(total, budget);
        ILodeEmission emission = ILodeEmission(address(token));
        if (total > rewardsUnallocated() && emission.rewardPool() == address(this) && emission.releasable() > 0) {
            emission.releaseEmission();
        }
        if (total > rewardsUnallocated()) revert RewardAboveBudget(total, rewardsUnallocated());
        rewardsAllocated += total;
        batchId = ++batchCount;
        _epochBatch[epoch] = batchId;
        _batchEpoch[batchId] = uint256(epoch) + 1;
        Batch storage batch = _batches[batchId];
        batch.payoutRoot = payoutRoot;
        bytes32[] memory noJobs;
        uint256[] memory noDebits;
        batch.listsHash = keccak256(abi.encode(noJobs, noDebits));
        batch.payoutTotal = SafeCast.toUint128(total);
        batch.postedAt = uint48(block.timestamp);
        batch.finalAt = uint48(block.timestamp + config.challengeWindow());
        batch.status = BatchStatus.Pending;
        emit BatchPosted(batchId, payoutRoot, total, 0, batch.finalAt, noJobs, noDebits);
        emit RewardBatchPosted(batchId, epoch, total);
    }

    /// @notice Voids a batch during its challenge window (the gateway's verifier found a liar
    ///         late): every debit returns to its job's escrow, or to the requester if the job has
    ///         been closed since. Only SETTLER_ROLE; the batch must be pending or disputed.
    /// @param batchId the batch
    /// @param jobIds the batch's job list, as in `BatchPosted`
    /// @param debits the batch's debit list, as in `BatchPosted`
    function voidBatch(uint256 batchId, bytes32[] calldata jobIds, uint256[] calldata debits)
        external
        onlyRole(SETTLER_ROLE)
    {
        Batch storage batch = _batch(batchId);
        if (batch.status != BatchStatus.Pending && batch.status != BatchStatus.Disputed) {
            revert InvalidBatchStatus(batchId, batch.status);
        }
        if (block.timestamp >= batch.finalAt) revert ChallengeWindowClosed(batchId, batch.finalAt);
        _checkLists(batch, batchId, jobIds, debits);
        _void(batch, batchId, jobIds, debits);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Decides a disputed batch. Only governance (ProtocolConfig's owner). Upheld: the
    ///         batch is final at once. Rejected: it is voided and its debits return to the jobs.
    /// @param batchId the disputed batch
    /// @param upheld true to pay the batch out, false to void it
    /// @param jobIds the batch's job list, as in `BatchPosted`
    /// @param debits the batch's debit list, as in `BatchPosted`
    function resolveDispute(uint256 batchId, bool upheld, bytes32[] calldata jobIds, uint256[] calldata debits)
        external
    {
        if (msg.sender != config.owner()) revert NotGovernance(msg.sender);
        Batch storage batch = _batch(batchId);
        if (batch.status != BatchStatus.Disputed) revert InvalidBatchStatus(batchId, batch.status);
        _checkLists(batch, batchId, jobIds, debits);
        emit DisputeResolved(batchId, upheld);
        if (upheld) batch.status = BatchStatus.Upheld;
        else _void(batch, batchId, jobIds, debits);
    }

    // ---------------------------------------------------------------- providers

    /// @notice Claims the caller's payouts from final batches, with one Merkle proof per batch,
    ///         and pays their sum in one transfer, or stakes it for the caller when `restake`.
    /// @param batchIds the batches to claim from (each at most once per provider, ever)
    /// @param amounts the caller's payout in each batch, as in the batch's tree
    /// @param proofs the caller's proof in each batch's tree
    /// @param restake true to add the sum to the caller's own stake instead of paying it out
    /// @return total tokens (wei) paid or staked
    function claim(
        uint256[] calldata batchIds,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs,
        bool restake
    ) external returns (uint256 total) {
        (address payee, bool registered) = registry.payeeOf(msg.sender);
        if (registered && restake) revert DeviceIncomeNotRestakable(msg.sender);
        total = _claim(msg.sender, batchIds, amounts, proofs, restake);
        if (total == 0) return 0;
        if (registered) {
            emit DevicePaid(msg.sender, payee, total);
            token.safeTransfer(payee, total);
        } else if (restake) {
            token.forceApprove(address(staking), total);
            staking.stakeFor(msg.sender, total);
        } else {
            token.safeTransfer(msg.sender, total);
        }
    }

    /// @notice Claims a registered device's payouts for its owner(s): anyone may send it (the
    ///         token's holder without the node key, say); the sum goes to `registry.payeeOf(node)`.
    /// @param node the device's node (the address in the payout trees)
    /// @param batchIds the batches to claim from (each at most once per node, ever)
    /// @param amounts the node's payout in each batch
    /// @param proofs the node's proof in each batch's tree
    /// @return total tokens (wei) paid
    function claimDevice(
        address node,
        uint256[] calldata batchIds,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs
    ) external returns (uint256 total) {
        (address payee, bool registered) = registry.payeeOf(node);
        if (!registered) revert NotADevice(node);
        total = _claim(node, batchIds, amounts, proofs, false);
        if (total == 0) return 0;
        emit DevicePaid(node, payee, total);
        token.safeTransfer(payee, total);
    }

    /// @dev Marks and checks `provider`'s claims; returns their sum (paid by the caller).
    function _claim(
        address provider,
        uint256[] calldata batchIds,
        uint256[] calldata amounts,
        bytes32[][] calldata proofs,
        bool restake
    ) private returns (uint256 total) {
        uint256 n = batchIds.length;
        if (n == 0) revert EmptyBatch();
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        if (n != proofs.length) revert LengthMismatch(n, proofs.length);
        for (uint256 i = 0; i < n; ++i) {
            total += _claimOne(provider, batchIds[i], amounts[i], proofs[i], restake);
        }
    }

    /// @dev One claim of `_claim`: final, not claimed before, proven, within the batch's total.
    function _claimOne(address provider, uint256 batchId, uint256 amount, bytes32[] calldata proof, bool restake)
        private
        returns (uint256)
    {
        Batch storage batch = _batch(batchId);
        if (!_isFinal(batch)) revert BatchNotFinal(batchId);
        uint256 bit = 1 << (batchId & 0xff);
        uint256 bits = _claimedBits[provider][batchId >> 8];
        if (bits & bit != 0) revert AlreadyClaimed(batchId, provider);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(provider, amount))));
        if (!MerkleProof.verifyCalldata(proof, batch.payoutRoot, leaf)) revert InvalidProof(batchId);
        uint256 claimedTotal = batch.claimedTotal + amount;
        if (claimedTotal > batch.payoutTotal) revert ClaimExceedsPayout(batchId, batch.claimedTotal, batch.payoutTotal);
        batch.claimedTotal = uint128(claimedTotal);
        _claimedBits[provider][batchId >> 8] = bits | bit;
        emit Claimed(batchId, provider, amount, restake);
        return amount;
    }

    // ---------------------------------------------------------------- anyone

    /// @notice Sends the fees of final batches to the treasury. Anyone may call.
    /// @param batchIds final batches whose fee has not been swept
    /// @return amount tokens (wei) sent
    function sweepFees(uint256[] calldata batchIds) external returns (uint256 amount) {
        for (uint256 i = 0; i < batchIds.length; ++i) {
            uint256 batchId = batchIds[i];
            Batch storage batch = _batch(batchId);
            if (!_isFinal(batch)) revert BatchNotFinal(batchId);
            if (batch.feeSwept) revert FeesAlreadySwept(batchId);
            batch.feeSwept = true;
            amount += batch.fee;
        }
        address treasury = config.treasury();
        emit FeesSwept(treasury, amount);
        if (amount > 0) token.safeTransfer(treasury, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice Emission received here and not yet allocated to a reward batch.
    /// @return tokens (wei)
    function rewardsUnallocated() public view returns (uint256) {
        ILodeEmission emission = ILodeEmission(address(token));
        if (emission.rewardPool() != address(this)) return 0;
        return emission.emitted() - rewardsAllocated;
    }

    /// @notice The reward batch of an epoch (0 if none, or voided).
    /// @param epoch the epoch
    /// @return batchId the batch
    function rewardBatchOf(uint64 epoch) external view returns (uint256) {
        return _epochBatch[epoch];
    }

    /// @notice A job's escrow.
    /// @param jobId the job
    /// @return requester who deposited first (zero if none)
    /// @return balance tokens (wei) left
    /// @return expiresAt when the requester may close it
    /// @return closed whether it is closed
    function escrowOf(bytes32 jobId)
        external
        view
        returns (address requester, uint256 balance, uint64 expiresAt, bool closed)
    {
        Job storage job = _jobs[jobId];
        return (job.requester, job.balance, job.expiresAt, job.closed);
    }

    /// @notice A batch as stored (status None for an unknown id).
    /// @param batchId the batch
    /// @return the stored batch
    function batchOf(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @notice Whether a batch is final (claimable, fee sweepable).
    /// @param batchId the batch
    /// @return true once its challenge window has passed undisputed, or governance upheld it
    function isFinal(uint256 batchId) external view returns (bool) {
        return _isFinal(_batches[batchId]);
    }

    /// @notice Whether `provider` has claimed from `batchId`.
    /// @param batchId the batch
    /// @param provider the provider
    /// @return true if claimed
    function isClaimed(uint256 batchId, address provider) external view returns (bool) {
        return _claimedBits[provider][batchId >> 8] & (1 << (batchId & 0xff)) != 0;
    }

    /// @notice The hash a batch's lists are checked against: keccak256(abi.encode(jobIds, debits)).
    /// @param jobIds the job list
    /// @param debits the debit list
    /// @return the lists hash
    function hashLists(bytes32[] calldata jobIds, uint256[] calldata debits) external pure returns (bytes32) {
        return keccak256(abi.encode(jobIds, debits));
    }

    // ---------------------------------------------------------------- internals

    function _batch(uint256 batchId) private view returns (Batch storage batch) {
        batch = _batches[batchId];
        if (batch.status == BatchStatus.None) revert UnknownBatch(batchId);
    }

    function _isFinal(Batch storage batch) private view returns (bool) {
        BatchStatus status = batch.status;
        return status == BatchStatus.Upheld || (status == BatchStatus.Pending && block.timestamp >= batch.finalAt);
    }

    function _checkLists(Batch storage batch, uint256 batchId, bytes32[] calldata jobIds, uint256[] calldata debits)
        private
        view
    {
        if (keccak256(abi.encode(jobIds, debits)) != batch.listsHash) revert BatchListsMismatch(batchId);
    }

    /// @dev Debits each job (open, known, enough balance, non-zero debit); returns the sum.
    function _debit(bytes32[] calldata jobIds, uint256[] calldata debits) private returns (uint256 totalDebit) {
        for (uint256 i = 0; i < jobIds.length; ++i) {
            bytes32 jobId = jobIds[i];
            uint256 debit = debits[i];
            if (debit == 0) revert ZeroAmount();
            Job storage job = _jobs[jobId];
            if (job.closed) revert JobClosed(jobId);
            uint256 balance = job.balance;
            if (balance < debit) {
                if (job.requester == address(0)) revert UnknownJob(jobId);
                revert InsufficientEscrow(jobId, balance, debit);
            }
            job.balance = uint128(balance - debit);
            totalDebit += debit;
        }
    }

    function _void(Batch storage batch, uint256 batchId, bytes32[] calldata jobIds, uint256[] calldata debits)
        private
    {
        batch.status = BatchStatus.Voided;
        emit BatchVoided(batchId, msg.sender);
        uint256 epochPlusOne = _batchEpoch[batchId];
        if (epochPlusOne != 0) {
            rewardsAllocated -= batch.payoutTotal;
            delete _epochBatch[uint64(epochPlusOne - 1)];
        }
        for (uint256 i = 0; i < jobIds.length; ++i) {
            Job storage job = _jobs[jobIds[i]];
            if (job.closed) {
                if (debits[i] > 0) token.safeTransfer(job.requester, debits[i]);
            } else {
                job.balance += uint128(debits[i]);
            }
        }
    }
}
