// electron-builder configuration (`npm run dist`). Native parts ship prebuilt N-API binaries
// (better-sqlite3, node-llama-cpp), so nothing is rebuilt for Electron and nothing is
// downloaded when the installed app first runs. ELECTRON_DIST may point at a local Electron
// (e.g. on machines that cannot download it).
module.exports = {
  appId: 'app.enclave.desktop',
  productName: 'Enclave',
  directories: { output: 'release', buildResources: 'resources' },
  files: ['dist/**', 'package.json', 'resources/assistants/*.json', '!dist/**/*.map', '!dist/electron/preload.js'],
  asar: true,
  // Native addons and llama.cpp's binaries must be real files on disk.
  asarUnpack: [
    'node_modules/better-sqlite3-multiple-ciphers/**',
    'node_modules/node-llama-cpp/**',
    'node_modules/@node-llama-cpp/**',
    // OCR: the canvas addon, tesseract's wasm core and its English data, read from disk.
    'node_modules/@napi-rs/**',
    'node_modules/tesseract.js/**',
    'node_modules/tesseract.js-core/**',
    'node_modules/@tesseract.js-data/**',
    // The document reader process and the search threads start from files on disk.
    'dist/electron/**',
  ],
  npmRebuild: false,
  // Electron's fuses, flipped in the packaged binary: it cannot be run as plain Node (documents are
  // read in a utility process, which needs no such mode), NODE_OPTIONS and --inspect are ignored,
  // the app loads only from its asar, checked against its integrity hash, and file:// pages get no
  // extra privileges. Cookies (there are none) would be encrypted.
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  },
  electronDist: process.env.ELECTRON_DIST || undefined,
  linux: { target: ['dir', 'tar.gz'], category: 'Office' },
  mac: { target: ['dmg'], category: 'public.app-category.productivity' },
  win: { target: ['nsis'] },
};
