// Helpers for the Streams tests (runtime/streams/*_test.js and others that
// drive a stream by hand). Import with a relative path, e.g.
//   import { controlledByteStream } from "../../runtime/testing/streams.js";

// A stream of `Class` (ReadableStream, WritableStream or TransformStream)
// that the test drives through the controller its start() was given:
// [stream, controller]. `underlying` is the rest of its source, sink or
// transformer; `strategies` its queuing strategies.
export function controlled(Class, underlying = {}, ...strategies) {
  let controller;
  const stream = new Class(
    {
      ...underlying,
      start(c) {
        controller = c;
      },
    },
    ...strategies,
  );
  return [stream, controller];
}

// The same for a ReadableStream with `source` (pull, cancel, type,
// autoAllocateChunkSize, ...) and `strategy`.
export function controlledStream(source = {}, strategy = undefined) {
  return controlled(ReadableStream, source, strategy);
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

// A ReadableStream of `chunks`, closed after them.
export function streamOf(...chunks) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}
