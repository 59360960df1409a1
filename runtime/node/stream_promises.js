// node:stream/promises — pipeline and finished returning promises.
// https://nodejs.org/api/stream.html#streams-promises-api

require("stream");
return internals.nodeStreamPromises;
