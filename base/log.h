// The server log: one line per event on stderr, written with a single call so
// lines from different threads never interleave.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace edge {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

// Lines below this level are dropped. Set once at start-up (`--log-level`).
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool ParseLogLevel(std::string_view text, LogLevel* out);

// Writes one line: "<time> <level> <message>".
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < GetLogLevel()) return;
  LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace edge
