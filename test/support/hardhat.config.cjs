// Hardhat Network for integration tests (test/support/hardhat.ts starts `hardhat node` with it).
// Hardhat must be run from inside the project that installs it, so the config lives here; what it
// writes (its cache) goes to the test's own directory.
const dir = process.env.LODE_HARDHAT_DIR;
module.exports = {
  networks: { hardhat: { chainId: Number(process.env.LODE_HARDHAT_CHAIN_ID ?? 31337), blockGasLimit: 60_000_000 } },
  paths: dir ? { cache: `${dir}/cache`, artifacts: `${dir}/artifacts`, sources: `${dir}/contracts` } : {},
};
