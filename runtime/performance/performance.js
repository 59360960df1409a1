// performance (High Resolution Time, https://w3c.github.io/hr-time/):
// now() and timeOrigin from performance.cc.

const { finishInterface, illegalConstructor, EventTarget } = internals;

const nativeNow = native.now;
// Read when asked, not at load: the value is the isolate's own, defined after
// the runtime's JavaScript was loaded (or restored from the startup snapshot).
const timeOrigin = () => native.timeOrigin;
const kCreate = {};

class Performance extends EventTarget {
  #brand = true;

  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
    super();
  }

  now() {
    this.#brand; // brand check
    return nativeNow();
  }

  get timeOrigin() {
    this.#brand; // brand check
    return timeOrigin();
  }

  toJSON() {
    this.#brand; // brand check
    return { timeOrigin: timeOrigin() };
  }
}
finishInterface(Performance);

internals.Performance = Performance;
internals.performance = new Performance(kCreate);
