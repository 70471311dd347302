// better-sqlite3-multiple-ciphers ships its types outside its package "exports"; its API is
// better-sqlite3's, whose types db.ts uses.
declare module 'better-sqlite3-multiple-ciphers' {
  const Database: unknown;
  export default Database;
}
