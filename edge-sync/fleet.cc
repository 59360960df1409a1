#include "edge-sync/fleet.h"

#include <fmt/core.h>
#include <simdjson.h>

#include "base/json_text.h"

namespace edge::sync {

void Fleet::Report(const std::vector<PopStatus>& pops, uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (PopStatus pop : pops) {
    if (pop.pop_id.empty()) continue;
    pop.reported_ms = now_ms;
    pops_[pop.pop_id] = std::move(pop);
  }
}

std::vector<PopStatus> Fleet::Pops(uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PopStatus> pops;
  for (auto it = pops_.begin(); it != pops_.end();) {
    const PopStatus& pop = it->second;
    if (forget_after_ms_ != 0 && now_ms > pop.reported_ms &&
        now_ms - pop.reported_ms > forget_after_ms_) {
      it = pops_.erase(it);  // gone longer than the forget time
      continue;
    }
    pops.push_back(pop);
    ++it;
  }
  return pops;
}

std::string Fleet::Encode(const std::vector<PopStatus>& pops) {
  std::string out = "{\"pops\":";
  base::AppendJsonArray(out, pops, [](std::string& text, const PopStatus& pop) {
    text += fmt::format(
        "{{\"pop_id\":{},\"cursor\":{},\"upstream_head\":{},\"last_contact_ms\":{},"
        "\"refused\":{},\"kv_refused\":{},\"kv_last_refused\":{},\"via\":{},"
        "\"reported_ms\":{},\"cron_candidate\":{}}}",
        base::JsonString(pop.pop_id), pop.cursor, pop.upstream_head, pop.last_contact_ms,
        pop.refused, pop.kv_refused, base::JsonString(pop.kv_last_refused),
        base::JsonString(pop.via), pop.reported_ms, pop.cron_candidate);
  });
  return out + "}";
}

StatusOr<std::vector<PopStatus>> Fleet::Decode(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS ||
      root["pops"].get_array().get(list) != simdjson::SUCCESS) {
    return Status(ErrorCode::kInvalidInput, "a check-in must be {\"pops\": [...]}");
  }
  std::vector<PopStatus> pops;
  for (simdjson::dom::element item : list) {
    PopStatus pop;
    std::string_view text;
    if (item["pop_id"].get_string().get(text) != simdjson::SUCCESS || text.empty() ||
        text.size() > 128) {
      return Status(ErrorCode::kInvalidInput, "every check-in entry needs a pop_id");
    }
    pop.pop_id = std::string(text);
    uint64_t number = 0;
    if (item["cursor"].get_uint64().get(number) == simdjson::SUCCESS) pop.cursor = number;
    if (item["upstream_head"].get_uint64().get(number) == simdjson::SUCCESS) {
      pop.upstream_head = number;
    }
    if (item["last_contact_ms"].get_uint64().get(number) == simdjson::SUCCESS) {
      pop.last_contact_ms = number;
    }
    if (item["refused"].get_uint64().get(number) == simdjson::SUCCESS) pop.refused = number;
    if (item["kv_refused"].get_uint64().get(number) == simdjson::SUCCESS) pop.kv_refused = number;
    if (item["kv_last_refused"].get_string().get(text) == simdjson::SUCCESS) {
      pop.kv_last_refused = std::string(text.substr(0, 1024));
    }
    if (item["via"].get_string().get(text) == simdjson::SUCCESS) pop.via = std::string(text);
    bool flag = false;
    if (item["cron_candidate"].get_bool().get(flag) == simdjson::SUCCESS) pop.cron_candidate = flag;
    pops.push_back(std::move(pop));
  }
  return pops;
}

}  // namespace edge::sync
