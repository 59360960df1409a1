// Helpers for the Streams tests (runtime/streams/*_test.js and others that
// drive a stream by hand). Import with a relative path, e.g.
//   import { controlledByteStream } from "../../runtime/testing/streams.js";

// A ReadableStream that the test drives through the controller its start()
// was given: [stream, controller]. `source` adds to the underlying source
// (pull, cancel, type, autoAllocateChunkSize, ...); `strategy` is the
// stream's queuing strategy.
export function controlledStream(source = {}, strategy = undefined) {
  let controller;
  const stream = new ReadableStream(
    {
      ...source,
      start(c) {
        controller = c;
      },
    },
    strategy,
  );
  return [stream, controller];
}

// The same for a readable byte stream.
export function controlledByteStream(source = {}, strategy = undefined) {
  return controlledStream({ ...source, type: "bytes" }, strategy);
}

// A BYOB reader on such a byte stream: [reader, controller, stream].
export function controlledByobReader(source = {}, strategy = undefined) {
  const [stream, controller] = controlledByteStream(source, strategy);
  return [stream.getReader({ mode: "byob" }), controller, stream];
}
