// node:stream/consumers — a whole stream read into one value: a Node
// Readable, a Web ReadableStream, or any async iterable of strings and
// bytes (what `for await` reads from it).
// https://nodejs.org/api/webstreams.html#utility-consumers

require("buffer");  // defines internals.nodeBuffer
const { FastBuffer } = internals.nodeBuffer;
const { ArrayPrototypePush, JSONParse } = internals.primordials;
const Blob = internals.Blob;
const TextDecoder = internals.TextDecoder;
const TextDecoderDecode = Function.prototype.call.bind(TextDecoder.prototype.decode);
const BlobArrayBuffer = Function.prototype.call.bind(Blob.prototype.arrayBuffer);

async function blob(stream) {
  const chunks = [];
  for await (const chunk of stream) ArrayPrototypePush(chunks, chunk);
  return new Blob(chunks);
}

async function arrayBuffer(stream) {
  return BlobArrayBuffer(await blob(stream));
}

async function buffer(stream) {
  return new FastBuffer(await arrayBuffer(stream));
}

async function text(stream) {
  const decoder = new TextDecoder();
  let result = "";
  for await (const chunk of stream) {
    result += typeof chunk === "string" ? chunk : TextDecoderDecode(decoder, chunk, { stream: true });
  }
  return result + TextDecoderDecode(decoder);
}

async function json(stream) {
  return JSONParse(await text(stream));
}

return { arrayBuffer, blob, buffer, json, text };
