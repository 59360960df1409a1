// Object.groupBy and Map.groupBy (ES2024,
// https://tc39.es/ecma262/#sec-object.groupby): GroupBy iterates `items`
// with the iterator protocol, calls the callback with (value, index) and
// collects the values per key, in the order the keys first appear. The
// groups live in an original Map (SafeMap), so neither a patched
// Map.prototype nor a setter on Array.prototype sees them.

const { MapPrototypeForEach, MapPrototypeSet, NumberMAX_SAFE_INTEGER, SafeMap, TypeErrorCtor: TypeError } =
  internals.primordials;
const {
  DONE, canonicalizeKey, createDataProperty, getIterator, install, isCallable, iteratorCloseThrow,
  iteratorStepValue, requireObjectCoercible, toPropertyKey,
} = internals.es;

const MapCtor = Map;

// GroupBy(items, callbackfn, keyCoercion): a SafeMap from key to the array
// of its values. `property` coerces keys with ToPropertyKey, otherwise -0
// becomes +0 (a SafeMap compares keys with SameValueZero, as
// AddValueToKeyedGroup's SameValue does once -0 is gone).
function groupBy(items, callbackfn, property, what) {
  requireObjectCoercible(items, what);
  if (!isCallable(callbackfn)) throw new TypeError(what + ": the callback is not a function");
  const groups = new SafeMap();
  const record = getIterator(items);
  for (let k = 0; ; k++) {
    if (k >= NumberMAX_SAFE_INTEGER) {
      iteratorCloseThrow(record, new TypeError(what + ": too many values"));
    }
    const value = iteratorStepValue(record);
    if (value === DONE) return groups;
    let key;
    try {
      key = callbackfn(value, k);
      key = property ? toPropertyKey(key) : canonicalizeKey(key);
    } catch (error) {
      iteratorCloseThrow(record, error);
    }
    let group = groups.get(key);
    if (group === undefined) {
      group = [];
      groups.set(key, group);
    }
    createDataProperty(group, group.length, value);
  }
}

const objectMethods = {
  groupBy(items, callbackfn) {
    const groups = groupBy(items, callbackfn, true, "Object.groupBy");
    const obj = { __proto__: null };
    MapPrototypeForEach(groups, (elements, key) => createDataProperty(obj, key, elements));
    return obj;
  },
};

const mapMethods = {
  groupBy(items, callbackfn) {
    const groups = groupBy(items, callbackfn, false, "Map.groupBy");
    const map = new MapCtor();
    MapPrototypeForEach(groups, (elements, key) => MapPrototypeSet(map, key, elements));
    return map;
  },
};

install(Object, objectMethods);
install(Map, mapMethods);
