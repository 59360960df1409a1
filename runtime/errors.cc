#include "runtime/errors.h"

#include <fmt/core.h>

namespace edge::runtime {

std::string ToStdString(v8::Isolate* isolate, v8::Local<v8::Value> value) {
  if (value.IsEmpty()) return "<empty>";
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::String> text;
  if (value->IsSymbol()) {
    value = value.As<v8::Symbol>()->Description(isolate);
    if (value->IsUndefined()) return "Symbol()";
  }
  if (!value->ToString(isolate->GetCurrentContext()).ToLocal(&text)) return "<unprintable value>";
  v8::String::Utf8Value utf8(isolate, text);
  return std::string(*utf8, utf8.length());
}

std::string DescribeException(v8::Isolate* isolate, v8::Local<v8::Value> exception,
                              v8::Local<v8::Message> message) {
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (message.IsEmpty()) message = v8::Exception::CreateMessage(isolate, exception);

  std::string location;
  if (!message.IsEmpty()) {
    std::string file = ToStdString(isolate, message->GetScriptResourceName());
    int line = message->GetLineNumber(context).FromMaybe(0);
    int column = message->GetStartColumn(context).FromMaybe(0) + 1;
    if (line > 0) location = fmt::format("{}:{}:{}: ", file, line, column);
  }

  // An Error's stack already starts with "Name: message"; prefer it.
  std::string stack;
  if (exception->IsObject()) {
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> value;
    if (exception.As<v8::Object>()
            ->Get(context, v8::String::NewFromUtf8Literal(isolate, "stack"))
            .ToLocal(&value) &&
        value->IsString()) {
      stack = ToStdString(isolate, value);
    }
  }
  if (!stack.empty()) return location + stack;
  return location + "Uncaught " + ToStdString(isolate, exception);
}

Status ExceptionStatus(v8::Isolate* isolate, v8::TryCatch& try_catch, std::string_view what) {
  if (try_catch.HasTerminated() || !try_catch.HasCaught()) {
    return Status(ErrorCode::kInvalidInput, fmt::format("{}: execution terminated", what));
  }
  return Status(ErrorCode::kInvalidInput,
                fmt::format("{}: {}", what,
                            DescribeException(isolate, try_catch.Exception(), try_catch.Message())));
}

}  // namespace edge::runtime
