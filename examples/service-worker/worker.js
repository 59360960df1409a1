// A service-worker style script: no imports or exports, one fetch listener.
addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  event.respondWith(new Response(`You asked for ${url.pathname}\n`));
});
