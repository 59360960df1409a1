// structuredClone (https://html.spec.whatwg.org/#dom-structuredclone) over
// V8's serializer (structured_clone.cc).

const { requireArguments, isArrayBuffer, DOMException } = internals;

// The transfer list's checks use built-ins captured before tenant code runs
// (runtime/js/primordials.js); TypeError is the original. The native checks
// again that each item is a distinct, detachable ArrayBuffer.
const { ArrayPrototypeIndexOf, SymbolIterator, TypeErrorCtor: TypeError } = internals.primordials;
const nativeStructuredClone = native.structuredClone;

function structuredClone(value, options = undefined) {
  requireArguments(arguments.length, 1, "Failed to execute 'structuredClone'");
  let transfer;
  if (options !== undefined && options !== null) {
    if (typeof options !== "object" && typeof options !== "function") {
      throw new TypeError(
        "Failed to execute 'structuredClone': The provided value is not of type 'StructuredSerializeOptions'.",
      );
    }
    const list = options.transfer;
    if (list !== undefined) {
      if (list === null || typeof list !== "object" || typeof list[SymbolIterator] !== "function") {
        throw new TypeError(
          "Failed to execute 'structuredClone': Failed to read the 'transfer' property from 'StructuredSerializeOptions': The provided value cannot be converted to a sequence.",
        );
      }
      // A sequence, converted by iterating it (WebIDL): what the list's
      // iterator yields is the tenant's to choose. The copy is a fresh array
      // (an array literal defines its elements, no setter sees them), so
      // what is checked below is what the native reads.
      transfer = [...list];
      for (let i = 0; i < transfer.length; i++) {
        const item = transfer[i];
        if (item === null || (typeof item !== "object" && typeof item !== "function")) {
          throw new TypeError("Failed to execute 'structuredClone': Transfer list items must be objects.");
        }
        if (!isArrayBuffer(item)) {
          throw new DOMException(
            "Failed to execute 'structuredClone': Value not transferable.",
            "DataCloneError",
          );
        }
        if (ArrayPrototypeIndexOf(transfer, item) !== i) {
          throw new DOMException(
            "Failed to execute 'structuredClone': ArrayBuffer at index " + i + " is a duplicate of an earlier ArrayBuffer.",
            "DataCloneError",
          );
        }
      }
    }
  }
  if (transfer === undefined || transfer.length === 0) return nativeStructuredClone(value);
  return nativeStructuredClone(value, transfer);
}

internals.structuredClone = structuredClone;
