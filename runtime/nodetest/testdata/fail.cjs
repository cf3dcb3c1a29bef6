// Exits 3 after a message on stderr. Used by nodetest's tests.
console.error("boom");
process.exit(3);
