// Never exits. Used by nodetest's tests.
setInterval(() => {}, 1000);
