// Hardhat 2 configuration for the local development chain used by the end-to-end tests and
// `npm run chain`: chain id 31337 (the extension's "Local development chain" preset), automine.
module.exports = { networks: { hardhat: { chainId: 31337 } } };
