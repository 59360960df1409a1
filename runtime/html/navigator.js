// navigator (https://html.spec.whatwg.org/#the-workernavigator-object): the
// user agent string only.

const { finishInterface, illegalConstructor } = internals;

const userAgent = native.userAgent;

const kCreate = {};

class Navigator {
  #brand = true;

  constructor(token = undefined) {
    if (token !== kCreate) throw illegalConstructor();
  }

  get userAgent() {
    this.#brand; // brand check
    return userAgent;
  }
}
finishInterface(Navigator);

internals.Navigator = Navigator;
internals.navigator = new Navigator(kCreate);
