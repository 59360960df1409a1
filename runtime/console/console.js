// The console namespace (https://console.spec.whatwg.org/). Messages are
// formatted with internals.format/inspect and written with native.log, one call
// per message (multi-line messages stay one log entry).

const { format, inspect, invocationResponseId } = internals;

const nativeLog = native.log;
const nativeNow = native.now;
const ObjectKeys = Object.keys;
const ObjectPrototypeHasOwnProperty = Function.prototype.call.bind(Object.prototype.hasOwnProperty);
const ArrayIsArray = Array.isArray;
const MathMax = Math.max;
const MathCeil = Math.ceil;
const ErrorCaptureStackTrace = Error.captureStackTrace;
const ReflectApply = Reflect.apply;
const ObjectDefineProperty = Object.defineProperty;
// V8's own console, which globals.js replaces: its methods tell an attached
// debugger (`edge dev --inspect`), and return at once when none is.
const v8Console = globalThis.console;

let groupIndent = "";
const counts = new Map();
const timers = new Map();

function write(level, message) {
  if (groupIndent !== "") {
    message = groupIndent + message.replaceAll("\n", `\n${groupIndent}`);
  }
  nativeLog(level, message, invocationResponseId());
}

function formatLabel(label) {
  return label === undefined ? "default" : `${label}`;
}

function formatDuration(ms) {
  if (ms >= 1000) {
    if (ms >= 60000) {
      if (ms >= 3600000) return `${(ms / 3600000).toFixed(3)}h`;
      return `${(ms / 60000).toFixed(3)}min`;
    }
    return `${(ms / 1000).toFixed(3)}s`;
  }
  return `${ms.toFixed(3)}ms`;
}

// console.table, rendered like Node.js.
const tableChars = {
  middleMiddle: "─",
  rowMiddle: "┼",
  topRight: "┐",
  topLeft: "┌",
  leftMiddle: "├",
  topMiddle: "┬",
  bottomRight: "┘",
  bottomLeft: "└",
  bottomMiddle: "┴",
  rightMiddle: "┤",
  left: "│ ",
  right: " │",
  middle: " │ ",
};

function renderRow(row, columnWidths) {
  let out = tableChars.left;
  for (let i = 0; i < row.length; i++) {
    const cell = row[i];
    const needed = (columnWidths[i] - cell.length) / 2;
    out += " ".repeat(needed) + cell + " ".repeat(MathCeil(needed));
    if (i !== row.length - 1) out += tableChars.middle;
  }
  out += tableChars.right;
  return out;
}

function renderTable(head, columns) {
  const rows = [];
  const columnWidths = head.map((h) => h.length);
  const longestColumn = MathMax(0, ...columns.map((a) => a.length));
  for (let i = 0; i < head.length; i++) {
    const column = columns[i];
    for (let j = 0; j < longestColumn; j++) {
      if (rows[j] === undefined) rows[j] = [];
      const value = (rows[j][i] = ObjectPrototypeHasOwnProperty(column, j) ? column[j] : "");
      columnWidths[i] = MathMax(columnWidths[i] || 0, value.length);
    }
  }
  const divider = columnWidths.map((w) => tableChars.middleMiddle.repeat(w + 2));
  let result =
    `${tableChars.topLeft}${divider.join(tableChars.topMiddle)}${tableChars.topRight}\n` +
    `${renderRow(head, columnWidths)}\n` +
    `${tableChars.leftMiddle}${divider.join(tableChars.rowMiddle)}${tableChars.rightMiddle}\n`;
  for (const row of rows) result += `${renderRow(row, columnWidths)}\n`;
  result += `${tableChars.bottomLeft}${divider.join(tableChars.bottomMiddle)}${tableChars.bottomRight}`;
  return result;
}

function cellInspect(value) {
  return inspect(value, { depth: 1, breakLength: Infinity, maxArrayLength: 3 });
}

function formatTable(data, properties) {
  const indexKey = "(index)";
  const valuesKey = "Values";
  const keys = [];
  const keyIndex = new Map();
  const indexColumn = [];
  const valuesColumn = [];
  const columns = [];
  let hasPrimitives = false;
  const addRow = (index, value, rowNumber) => {
    indexColumn.push(index);
    if (value !== null && (typeof value === "object" || typeof value === "function")) {
      const names = properties !== undefined ? properties : ObjectKeys(value);
      for (const name of names) {
        let col = keyIndex.get(name);
        if (col === undefined) {
          col = keys.length;
          keys.push(name);
          keyIndex.set(name, col);
          columns.push([]);
        }
        if (properties === undefined || ObjectPrototypeHasOwnProperty(value, name)) {
          columns[col][rowNumber] = cellInspect(value[name]);
        }
      }
    } else {
      hasPrimitives = true;
      valuesColumn[rowNumber] = cellInspect(value);
    }
  };
  let row = 0;
  if (data instanceof Map) {
    for (const { 0: k, 1: v } of data) addRow(cellInspect(k), v, row++);
  } else if (data instanceof Set || ArrayIsArray(data)) {
    for (const v of data) addRow(`${row}`, v, row++);
  } else {
    for (const k of ObjectKeys(data)) addRow(k, data[k], row++);
  }
  const head = [indexKey, ...keys.map((k) => `${k}`)];
  const cols = [indexColumn, ...columns];
  if (hasPrimitives) {
    head.push(valuesKey);
    cols.push(valuesColumn);
  }
  return renderTable(head, cols);
}

const consoleObject = {
  log(...data) {
    write("log", format(...data));
  },
  info(...data) {
    write("info", format(...data));
  },
  warn(...data) {
    write("warn", format(...data));
  },
  error(...data) {
    write("error", format(...data));
  },
  debug(...data) {
    write("debug", format(...data));
  },
  trace(...data) {
    const err = { name: "Trace", message: format(...data) };
    ErrorCaptureStackTrace(err, consoleObject.trace);
    write("log", err.stack);
  },
  assert(condition = false, ...data) {
    if (condition) return;
    if (data.length === 0) {
      data.push("Assertion failed");
    } else if (typeof data[0] === "string") {
      data[0] = `Assertion failed: ${data[0]}`;
    } else {
      data.unshift("Assertion failed:");
    }
    write("error", format(...data));
  },
  dir(item = undefined, options = undefined) {
    write("log", inspect(item, options !== null && typeof options === "object" ? options : undefined));
  },
  dirxml(...data) {
    write("log", format(...data));
  },
  table(tabularData = undefined, properties = undefined) {
    if (tabularData === null || typeof tabularData !== "object") {
      write("log", format(tabularData));
      return;
    }
    if (properties !== undefined && !ArrayIsArray(properties)) properties = undefined;
    write("log", formatTable(tabularData, properties));
  },
  count(label = undefined) {
    label = formatLabel(label);
    const n = (counts.get(label) || 0) + 1;
    counts.set(label, n);
    write("info", `${label}: ${n}`);
  },
  countReset(label = undefined) {
    label = formatLabel(label);
    if (counts.has(label)) counts.set(label, 0);
    else write("warn", `Count for '${label}' does not exist`);
  },
  group(...data) {
    if (data.length > 0) write("log", format(...data));
    groupIndent += "  ";
  },
  groupCollapsed(...data) {
    if (data.length > 0) write("log", format(...data));
    groupIndent += "  ";
  },
  groupEnd() {
    groupIndent = groupIndent.slice(0, -2);
  },
  time(label = undefined) {
    label = formatLabel(label);
    if (timers.has(label)) {
      write("warn", `Timer '${label}' already exists`);
      return;
    }
    timers.set(label, nativeNow());
  },
  timeLog(label = undefined, ...data) {
    label = formatLabel(label);
    const start = timers.get(label);
    if (start === undefined) {
      write("warn", `Timer '${label}' does not exist`);
      return;
    }
    const message = `${label}: ${formatDuration(nativeNow() - start)}`;
    write("info", data.length > 0 ? `${message} ${format(...data)}` : message);
  },
  timeEnd(label = undefined) {
    label = formatLabel(label);
    const start = timers.get(label);
    if (start === undefined) {
      write("warn", `Timer '${label}' does not exist`);
      return;
    }
    timers.delete(label);
    write("info", `${label}: ${formatDuration(nativeNow() - start)}`);
  },
};

// Each method also reaches V8's, so DevTools' console shows the message with
// its values as objects to expand.
for (const name of ObjectKeys(consoleObject)) {
  const ours = consoleObject[name];
  const v8Method = v8Console !== undefined ? v8Console[name] : undefined;
  if (typeof v8Method !== "function") continue;
  const method = {
    [name](...data) {
      ReflectApply(v8Method, v8Console, data);
      return ReflectApply(ours, this, data);
    },
  }[name];
  ObjectDefineProperty(method, "length", { value: ours.length });
  consoleObject[name] = method;
}

// A namespace object: methods are enumerable own properties, and the object's
// prototype is an empty object, like in browsers.
Object.setPrototypeOf(consoleObject, {});
Object.defineProperty(consoleObject, Symbol.toStringTag, {
  value: "console",
  writable: false,
  enumerable: false,
  configurable: true,
});

internals.console = consoleObject;
