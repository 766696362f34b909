/**
 * Layers that only point down, and no import cycles (`npm run lint`, run by .ci/run).
 * A package may import only the packages below it:
 *   protocol
 *   sandbox, keystore, workloads           → protocol
 *   provider, sdk, ledger                  → the above
 *   node, gateway                          → the above (the gateway never imports node or provider)
 *   cli, web                               → anything below them
 * Tests may reach across (an integration test starts whatever it needs).
 */
const dir = (name) => (name === 'workloads' ? 'workloads' : `packages/${name}`);
const pkg = (names) => `^(${names.map(dir).join('|')})/`;
const allowed = {
  protocol: [],
  sandbox: ['protocol'],
  keystore: ['protocol'],
  workloads: ['protocol'],
  provider: ['protocol', 'sandbox'],
  sdk: ['protocol'],
  ledger: ['protocol', 'keystore'],
  node: ['protocol', 'sandbox', 'keystore', 'provider', 'sdk', 'ledger'],
  gateway: ['protocol', 'sandbox', 'keystore', 'workloads', 'ledger'],
  cli: ['protocol', 'sandbox', 'keystore', 'workloads', 'provider', 'sdk', 'ledger', 'node', 'gateway'],
  web: ['protocol', 'sandbox', 'keystore', 'provider', 'sdk', 'ledger'],
};
const everyPackage = Object.keys(allowed);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'Modules that import each other cannot be understood or changed one at a time, and load in an order nobody chose. Move what both need into a third module. ' +
        '(A cycle closed only by a type import is allowed: the embedded chain answers EIP-1193 requests through rpc.ts, whose handlers are typed by the chain.)',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...Object.entries(allowed).map(([name, below]) => ({
      name: `layers-${name}`,
      severity: 'error',
      comment: `${dir(name)} may import only ${below.length ? below.join(', ') : 'no other Lode package'} (see .dependency-cruiser.cjs).`,
      from: { path: `^${dir(name)}/src/`, pathNot: '\\.test\\.tsx?$' },
      to: {
        path: pkg(everyPackage.filter((p) => p !== name && !below.includes(p))),
      },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'default'], extensions: ['.ts', '.tsx', '.js'] },
    combinedDependencies: true,
  },
};
