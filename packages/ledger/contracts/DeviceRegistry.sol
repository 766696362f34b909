// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Enumerable} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Enumerable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {DeviceShares} from "./DeviceShares.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";

/// @title DeviceRegistry
/// @notice A Lode device as an asset: an ERC-721 token per device, minted to its owner when the
///         device registers, whose holder receives the device's payouts and availability rewards.
///         Selling the token sells the income stream.
///
///         1. `register`: the owner sends the transaction (its account's signature) with the
///            node key's EIP-712 `RegisterDevice` signature naming that owner, so neither can
///            register the other alone. The token id is the node's address (as uint160).
///         2. JobEscrow pays a registered device's claims to `payeeOf(node)`: the token's holder,
///            or its share contract while the device is split.
///         3. `split`: the holder deposits the token here and receives all N shares of a new
///            DeviceShares clone (an ERC-20 that distributes every payout pro rata, pull-based).
///            `unsplit`: whoever holds all N shares burns them and receives the token.
/// @dev Stake stays with the node key (Staking knows nodes, not tokens): selling the token does
///      not move stake; the node's stake is slashed for the node's offences whoever owns it.
contract DeviceRegistry is ERC721Enumerable, EIP712, IDeviceRegistry {
    /// @notice What a device is; `Phone` is the highest kind.
    enum Kind {
        Server,
        Laptop,
        Board,
        Browser,
        Phone
    }

    /// @notice What is stored per device (the token's id is uint160(node)).
    struct Device {
        bytes32 capabilitiesHash;
        uint64 joinedAt;
        Kind kind;
        DeviceShares shares;
    }

    /// @notice The node key's consent to be registered to `owner`.
    bytes32 public constant REGISTER_TYPEHASH =
        keccak256("RegisterDevice(address node,address owner,uint8 kind,bytes32 capabilitiesHash,uint256 deadline)");
    /// @notice Fewest and most shares a device may be split into.
    uint256 public constant MIN_SHARES = 2;
    uint256 public constant MAX_SHARES = 1e12;

    /// @notice A constructor address of zero, or a node of zero.
    error ZeroAddress();
    /// @notice The node is already registered (a device registers once).
    error DeviceAlreadyRegistered(address node);
    /// @notice No device is registered for this node (or token id).
    error UnknownDevice(uint256 deviceId);
    /// @notice The node key's signature does not name this owner and these details.
    error InvalidNodeSignature(address node);
    /// @notice The node key's signature is past its deadline.
    error SignatureExpired(uint256 deadline);
    /// @notice A kind beyond `Kind.Phone`.
    error InvalidKind(uint8 kind);
    /// @notice Only the device token's holder may do this.
    error NotDeviceOwner(uint256 deviceId, address caller);
    /// @notice The device is split already (unsplit first).
    error AlreadySplit(uint256 deviceId);
    /// @notice The device is not split.
    error NotSplit(uint256 deviceId);
    /// @notice A share count outside [MIN_SHARES, MAX_SHARES].
    error InvalidShareCount(uint256 shares, uint256 min, uint256 max);

    /// @notice A device was registered and its token minted to `owner`.
    event DeviceRegistered(uint256 indexed deviceId, address indexed node, address indexed owner, Kind kind, bytes32 capabilitiesHash);
    /// @notice A device's income was split into `count` shares of the `shares` token.
    event DeviceSplit(uint256 indexed deviceId, address indexed shares, address indexed owner, uint256 count);
    /// @notice A device's shares were burnt and its token returned to `owner`.
    event DeviceUnsplit(uint256 indexed deviceId, address indexed shares, address indexed owner);

    /// @notice The token device income is paid in (LodeToken).
    IERC20 public immutable token;
    /// @notice The DeviceShares implementation every split clones.
    address public immutable sharesImplementation;

    mapping(uint256 deviceId => Device) private _devices;

    /// @param token_ the payout token
    /// @param sharesImplementation_ a DeviceShares deployed for cloning (its initializer disabled)
    constructor(IERC20 token_, address sharesImplementation_) ERC721("Lode Device", "LODEDEV") EIP712("Lode DeviceRegistry", "1") {
        if (address(token_) == address(0) || sharesImplementation_ == address(0)) revert ZeroAddress();
        token = token_;
        sharesImplementation = sharesImplementation_;
    }

    /// @notice Registers `node` as a device owned by the caller and mints its token to the caller.
    /// @param node the node's key (its address)
    /// @param kind what the device is
    /// @param capabilitiesHash keccak256 of the node's attested capabilities (canonical JSON)
    /// @param deadline the node signature's deadline (unix seconds)
    /// @param nodeSignature the node key's EIP-712 RegisterDevice signature (or ERC-1271)
    /// @return deviceId the token id, uint160(node)
    function register(address node, uint8 kind, bytes32 capabilitiesHash, uint256 deadline, bytes calldata nodeSignature)
        external
        returns (uint256 deviceId)
    {
        if (node == address(0)) revert ZeroAddress();
        if (kind > uint8(Kind.Phone)) revert InvalidKind(kind);
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        deviceId = uint256(uint160(node));
        if (_ownerOf(deviceId) != address(0)) revert DeviceAlreadyRegistered(node);
        bytes32 digest = registerDigest(node, msg.sender, kind, capabilitiesHash, deadline);
        if (!SignatureChecker.isValidSignatureNow(node, digest, nodeSignature)) revert InvalidNodeSignature(node);
        _devices[deviceId] = Device(capabilitiesHash, uint64(block.timestamp), Kind(kind), DeviceShares(address(0)));
        emit DeviceRegistered(deviceId, node, msg.sender, Kind(kind), capabilitiesHash);
        _safeMint(msg.sender, deviceId);
    }

    /// @notice Splits the caller's device into `count` shares: the token moves here and the
    ///         caller receives every share of a new DeviceShares, which receives the device's
    ///         payouts from now on.
    /// @param deviceId the device
    /// @param count how many shares (MIN_SHARES..MAX_SHARES)
    /// @return shares the new share token
    function split(uint256 deviceId, uint256 count) external returns (address shares) {
        Device storage device = _device(deviceId);
        if (address(device.shares) != address(0)) revert AlreadySplit(deviceId);
        if (ownerOf(deviceId) != msg.sender) revert NotDeviceOwner(deviceId, msg.sender);
        if (count < MIN_SHARES || count > MAX_SHARES) revert InvalidShareCount(count, MIN_SHARES, MAX_SHARES);
        DeviceShares clone = DeviceShares(Clones.clone(sharesImplementation));
        device.shares = clone;
        _transfer(msg.sender, address(this), deviceId);
        emit DeviceSplit(deviceId, address(clone), msg.sender, count);
        clone.initialize(token, address(uint160(deviceId)), msg.sender, count);
        return address(clone);
    }

    /// @notice Ends a split: the caller must hold every share; they are burnt, the share
    ///         contract closes (its past holders still claim what they earned), and the token
    ///         returns to the caller.
    /// @param deviceId the device
    function unsplit(uint256 deviceId) external {
        Device storage device = _device(deviceId);
        DeviceShares shares = device.shares;
        if (address(shares) == address(0)) revert NotSplit(deviceId);
        device.shares = DeviceShares(address(0));
        emit DeviceUnsplit(deviceId, address(shares), msg.sender);
        shares.close(msg.sender);
        _transfer(address(this), msg.sender, deviceId);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDeviceRegistry
    function payeeOf(address node) external view returns (address payee, bool registered) {
        uint256 deviceId = uint256(uint160(node));
        address holder = _ownerOf(deviceId);
        if (holder == address(0)) return (node, false);
        address shares = address(_devices[deviceId].shares);
        return (shares != address(0) ? shares : holder, true);
    }

    /// @notice A device as stored, with its holder (this registry while split).
    /// @param deviceId the device (uint160 of its node)
    /// @return device what is stored
    /// @return holder the token's holder
    function deviceOf(uint256 deviceId) external view returns (Device memory device, address holder) {
        _device(deviceId);
        return (_devices[deviceId], _ownerOf(deviceId));
    }

    /// @notice The EIP-712 digest the node key signs to be registered to `owner`.
    function registerDigest(address node, address owner, uint8 kind, bytes32 capabilitiesHash, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(REGISTER_TYPEHASH, node, owner, kind, capabilitiesHash, deadline)));
    }

    function _device(uint256 deviceId) private view returns (Device storage device) {
        if (_ownerOf(deviceId) == address(0)) revert UnknownDevice(deviceId);
        return _devices[deviceId];
    }
}
