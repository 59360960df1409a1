// Tenant vs node: the handler throws objects whose `stack` getter throws,
// or that are revoked Proxies, which the node describes in C++ for its log
// (runtime/errors.cc). The request gets a 500; nothing else happens.
export default {
  fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/revoked") {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      throw proxy;
    }
    if (url.pathname === "/rejected") {
      const error = {};
      Object.defineProperty(error, "stack", { get() { throw new Error("stack getter"); } });
      return Promise.reject(error);
    }
    const error = new Error("x");
    Object.defineProperty(error, "stack", { get() { throw error; } });
    throw error;
  },
};
