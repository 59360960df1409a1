// The web-platform-tests reporter for test/conformance/wpt_test.cc.
//
// A plain script, run right after WPT's resources/testharness.js in a fresh
// worker and before the test's `// META: script=` files and the test itself.
// It tells testharness.js to wait for an explicit done() (the test is a
// sequence of scripts, as in a dedicated worker) and collects every subtest's
// result. wpt_test.cc then calls
//
//   __wptFinish(timeoutMs) -> Promise<string>
//
// which calls done() and settles with the report once every subtest has
// finished, or once `timeoutMs` has passed (the harness then marks the
// subtests still running as timed out). The report has one line per
// subtest, "<status>\t<name>\t<message>", with the harness's own status as
// the first line ("harness\t<status>\t<message>"). Names and messages are
// escaped so that a line holds exactly one result (see escape()).
(function (global) {
  "use strict";

  const statusNames = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"];
  const harnessNames = ["OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED"];
  let results = [];
  let harnessLine = null;
  let finished = null;  // resolves when testharness.js completes

  // Backslash, tab, line breaks, other control characters and lone
  // surrogates become \\, \t, \n, \uXXXX: the report and the expectation
  // files are UTF-8 text, one result per line.
  function escape(text) {
    let out = "";
    const s = String(text);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5c) {
        out += "\\\\";
      } else if (c === 0x09) {
        out += "\\t";
      } else if (c === 0x0a) {
        out += "\\n";
      } else if (c < 0x20 || c === 0x7f) {
        out += "\\u" + c.toString(16).padStart(4, "0");
      } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
                 s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        out += "\\u" + c.toString(16);
      } else {
        out += s[i];
      }
    }
    return out;
  }

  let resolveFinished;
  finished = new Promise((resolve) => { resolveFinished = resolve; });

  global.setup({ explicit_done: true });
  const line = (test) =>
    `${statusNames[test.status] ?? test.status}\t${escape(test.name)}\t${escape(test.message ?? "")}`;
  global.add_result_callback((test) => {
    results.push(line(test));
  });
  // The completion callback sees every subtest, also those the harness
  // stopped (TIMEOUT) or never ran (NOTRUN), which get no result callback.
  global.add_completion_callback((tests, status) => {
    harnessLine = `harness\t${harnessNames[status.status] ?? status.status}\t` +
                  escape(status.message ?? "");
    results = tests.map(line);
    resolveFinished();
  });

  Object.defineProperty(global, "__wptFinish", {
    configurable: true,
    value(timeoutMs) {
      global.done();
      let timer;
      const deadline = new Promise((resolve) => {
        timer = setTimeout(() => {
          // Subtests still running are reported as TIMEOUT by the harness.
          global.timeout();
          resolve();
        }, timeoutMs);
      });
      return Promise.race([finished, deadline]).then(() => {
        clearTimeout(timer);
        return [harnessLine ?? "harness\tTIMEOUT\tthe harness did not complete", ...results]
            .join("\n");
      });
    },
  });
})(globalThis);
