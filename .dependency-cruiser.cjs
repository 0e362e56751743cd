/**
 * The architecture rules of docs/design.md §2, held by dependency-cruiser on every
 * `npm run lint`. Each rule says why it exists; a rule that no longer fits is changed here,
 * with its reason, not silenced at the import.
 *
 * The external-library rules apply to `src/` only: tests and benchmarks may use a library
 * directly to make or check what the module under test produces (sharp decoding a composed
 * PNG, the real Slack WebClient against the fake Web API, ONNX Runtime on a synthetic model).
 */

/** Resolved paths of a package, with or without the worktree's node_modules symlink in front. */
const pkg = (...names) => `(^|/)node_modules/(${names.map((n) => n.replace(/[.]/g, '\\.')).join('|')})/`;

/** Modules at the ground floor: everyone may import them; they import only each other. */
const GROUND = '^src/(config|disk|errors|linalg|log|random|redact|vocabulary)\\.ts$';

/**
 * "Each external library is imported in exactly one module (folder)": the folder owns the
 * library and everything else talks to that folder's own interface, so a test can swap the
 * real part for a fake one at the seam and a library upgrade touches one place.
 */
const owns = (name, owner, packages, why) => ({
  name,
  severity: 'error',
  comment: why,
  from: { path: '^src/', pathNot: owner },
  to: { path: pkg(...packages) },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import circles (type-only ones included) make load order matter and hide which module is the lower one; ' +
        'move what both sides need into the lower module, or into a small one both import.',
      from: { path: '^(src|test|bench|scripts)/' },
      to: { circular: true },
    },
    {
      name: 'ground-floor-imports-nothing-above',
      severity: 'error',
      comment:
        'config, disk, errors, linalg, log, random, redact and vocabulary are read by every module (config.ts validates settings with the ' +
        'vocabulary); if one of them imported a feature module, that module would load before config was valid and ' +
        'circles would follow. They may import each other and Node built-ins only.',
      from: { path: GROUND },
      to: { path: '^src/', pathNot: GROUND },
    },
    {
      name: 'ground-floor-no-packages',
      severity: 'error',
      comment: 'The ground floor stays free of npm packages so any module (and any worker thread) can load it cheaply.',
      from: { path: GROUND },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'domain-knows-no-slack',
      severity: 'error',
      comment:
        'Rounds, generation, exports, the library, CLIP, images and learning work without Slack (the CLI, the learning loop, ' +
        'tests with a recording RoundView); only the Slack adapter, the sandbox and the composition root know about them.',
      from: { path: '^src/(rounds|generate|library|clip|image|rank|learn|ops|export)/' },
      to: { path: '^src/(slack|sandbox)/' },
    },
    {
      name: 'sandbox-shares-no-code-with-slack',
      severity: 'error',
      comment:
        'The sandbox is a stand-in for Slack and talks to the adapter only over the Slack protocol (HTTP, signed); ' +
        "if it shared the adapter's code (block builders, action ids) both sides could agree on a mistake the real " +
        'Slack would refuse. It reaches the bot only through the composition root (services.ts).',
      from: { path: '^src/sandbox/' },
      to: { path: '^src/slack/' },
    },
    {
      name: 'drivers-opened-in-one-place',
      severity: 'error',
      comment:
        'State is opened by rounds/state.ts alone (openState): it picks the driver from DATABASE_URL, so the bot, the ' +
        'learning loop and the CLI read the same database, and PostgreSQL never loads better-sqlite3 (issue 12).',
      from: { path: '^src/', pathNot: '^src/rounds/state\\.ts$' },
      to: { path: '^src/rounds/(sqlite|postgres)\\.ts$' },
    },
    {
      name: 'slack-not-into-stores',
      severity: 'error',
      comment:
        'The Slack adapter talks to rounds through RoundService and the RoundRunner, never to the SQL store: round rules ' +
        'live in rounds/ where they are tested without a fake Slack. (The store interfaces in rounds/types.ts cannot be ' +
        'told apart from the domain types there by path; once they move to their own module, add it to this list.)',
      from: { path: '^src/slack/' },
      to: { path: '^src/rounds/((sqlite|postgres|sql-store|sql|store|state|leases|migrations)\\.ts$|sql/)' },
    },
    owns('only-image-imports-sharp', '^src/image/', ['sharp'], 'Every pixel operation lives in image/ (design §2), on sharp.'),
    owns(
      'only-clip-imports-onnxruntime',
      '^src/clip/',
      ['onnxruntime-node', 'onnxruntime-common', 'onnx-proto'],
      'CLIP inference (in one worker thread: run() blocks its thread) and the ONNX model tooling live in clip/.',
    ),
    owns(
      'only-library-imports-lancedb',
      '^src/library/',
      ['@lancedb/lancedb', 'apache-arrow'],
      'The creative library (schema, ingest, search) is the only user of LanceDB and its Arrow tables.',
    ),
    owns(
      'only-generate-imports-openai',
      '^src/generate/',
      ['openai'],
      'Copy and images from OpenAI are written in generate/, behind Copywriter and ImageProvider.',
    ),
    owns(
      'only-slack-imports-slack-sdk',
      '^src/slack/',
      ['@slack/[^/]+'],
      'The Bolt app, its listeners and the Web API client are the Slack adapter; rounds reach Slack only through RoundView. ' +
        'The sandbox speaks the Slack protocol over HTTP and needs no Slack SDK.',
    ),
    owns(
      'only-sqlite-driver-imports-better-sqlite3',
      '^src/rounds/.*sqlite[^/]*\\.ts$',
      ['better-sqlite3'],
      'SQLite is one driver of the SQL store; PostgreSQL deployments must not load the native SQLite module.',
    ),
    owns(
      'only-postgres-driver-imports-pg',
      '^src/rounds/.*(postgres|pg)[^/]*\\.ts$',
      ['pg', 'pg-[^/]+'],
      'PostgreSQL is one driver of the SQL store, behind the same interface as SQLite.',
    ),
    owns(
      'only-metrics-imports-prom-client',
      '^src/ops/metrics\\.ts$',
      ['prom-client'],
      'Code counts through the small Metrics interface; one registry per process.',
    ),
    owns(
      'only-s3-asset-store-imports-aws-sdk',
      '^src/rounds/s3-assets\\.ts$',
      ['@aws-sdk/[^/]+'],
      'Variant assets on S3 are one implementation of the AssetStore seam; LanceDB on s3:// uses its own object store.',
    ),
    owns('only-csv-module-imports-csv-parse', '^src/library/csv\\.ts$', ['csv-parse'], 'Metrics CSVs are parsed in one place.'),
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'A production install (npm install --omit=dev) has no devDependencies: src/ must not need them.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-not-to-undeclared-packages',
      severity: 'error',
      comment:
        'A package src/ imports but package.json does not list is there only by luck of hoisting; declare it, or import it from the package that does.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing fails at run time, in a worker or a lazily loaded module perhaps long after start.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'src-not-to-tests',
      severity: 'error',
      comment: 'Production code must not load test helpers, fixtures or benchmarks.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a circle through types is still two modules that cannot be read apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
