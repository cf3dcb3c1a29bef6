// Prints its arguments and NODE_PATH; writes "note" to stderr. Used by nodetest's tests.
console.log(JSON.stringify({ args: process.argv.slice(2), nodePath: process.env.NODE_PATH || "" }));
console.error("note");
