// routewarden's layers, checked by dependency-cruiser (`npm run lint:deps`,
// run by .ci/run and by test/unit/layers.test.ts). docs/architecture.md
// ("Layers") explains them and shows the graph `npm run gen:graph` draws.
//
//   core                   pure: imports nothing outside src/core (no I/O, no packages)
//   kernel, kube, kubevip  adapters: only src/core (and their packages)
//   app                    use cases: core and kubevip; owns its settings types
//                          and observer interfaces (src/app/ports.ts)
//   surface                metrics, HTTP, logs: core, kubevip, and app's ports it implements
//   cli                    the composition root: anything in src; nothing in src imports it
//   src/*.ts               version.ts, package-root.ts: for cli only
//   tools/                 the demo and the API double: may import src; src never
//                          imports tools/, except the CLI's one guarded dynamic
//                          import of the demo (src/cli/demo.ts)
//
// Type-only imports count (tsPreCompilationDeps): a layer that names another
// layer's types depends on it as much as one that calls it.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'src/core holds the rules and no I/O: it imports nothing outside src/core, no package, no node: module.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { pathNot: '^src/core/' },
    },
    {
      name: 'adapters-only-core',
      comment: 'The adapters (kernel, kube, kubevip) import src/core and nothing else of src or tools.',
      severity: 'error',
      from: { path: '^src/(kernel|kube|kubevip)/' },
      to: { path: '^(src|tools)/', pathNot: ['^src/core/', '^src/$1/'] },
    },
    {
      name: 'app-owns-its-ports',
      comment:
        'src/app imports core and kubevip only: settings types and observer interfaces are its own (src/app/ports.ts); cli passes the adapters and surface implements the observers.',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: '^(src|tools)/', pathNot: ['^src/(app|core|kubevip)/'] },
    },
    {
      name: 'surface-implements-ports',
      comment: "src/surface imports core, kubevip and app's ports (the interfaces it implements), nothing else of src.",
      severity: 'error',
      from: { path: '^src/surface/' },
      to: { path: '^(src|tools)/', pathNot: ['^src/(surface|core|kubevip)/', '^src/app/ports[.]ts$'] },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'src/cli composes; nothing else in src imports it (tools/ and tests may).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'root-modules-for-cli',
      comment: 'src/version.ts and src/package-root.ts read package.json from disk: cli passes what they say on.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/cli/', '^src/[^/]+[.]ts$'] },
      to: { path: '^src/[^/]+[.]ts$' },
    },
    {
      name: 'src-not-tools',
      comment: 'tools/ (the demo, the API double) is not shipped: src never imports it ...',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/demo[.]ts$' },
      to: { path: '^tools/' },
    },
    {
      name: 'src-not-tools-but-the-demo',
      comment: "... except src/cli/demo.ts's dynamic import of tools/demo/demo.ts, made only when the file is there (a checkout).",
      severity: 'error',
      from: { path: '^src/cli/demo[.]ts$' },
      to: { path: '^tools/', pathNot: '^tools/demo/demo[.]ts$' },
    },
    {
      name: 'src-not-tools-but-dynamically',
      comment: 'The demo import must stay dynamic: a static one would load tools/ (or fail) wherever the CLI starts.',
      severity: 'error',
      from: { path: '^src/cli/demo[.]ts$' },
      to: { path: '^tools/demo/demo[.]ts$', dynamic: false },
    },
    {
      name: 'no-circular',
      comment: 'Modules that import each other, directly or through others, are one module in two files.',
      severity: 'error',
      from: { path: '^(src|tools)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing fails at run time.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'src runs as the bundle (scripts/build.ts): the libraries below are inside it, so they are devDependencies of the package; any other package src imports is loaded from node_modules at run time (BUNDLE_EXTERNAL: netlink, pino) and must be a production dependency (test/deploy/package.test.ts holds package.json to that list).',
      severity: 'error',
      from: { path: '^src/' },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only'],
        pathNot: '(^|/)node_modules/(@kubernetes/client-node|bcryptjs|commander|express|prom-client|undici|yaml|zod)/',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
