#include "orchestrator/placement_rules.h"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace llorch::orchestrator {

namespace {

std::string at_line(const toml::node& n) {
    return " (line " + std::to_string(n.source().begin.line) + ")";
}

std::string read_rule(const toml::table& t, const std::string& at, placement::affinity_rule& r) {
    bool weight_given = false;
    for (const auto& [key, value] : t) {
        const std::string k(key.str());
        const std::string where = at + "." + k;
        if (k == "model" || k == "priority" || k == "label") {
            const auto* s = value.as_string();
            if (s == nullptr || s->get().empty())
                return where + ": must be a non-empty string" + at_line(value);
            if (k == "model") r.model = s->get();
            if (k == "label") r.label = s->get();
            if (k == "priority") {
                if (s->get() != "interactive" && s->get() != "batch")
                    return where + ": must be \"interactive\" or \"batch\"" + at_line(value);
                r.priority = s->get();
            }
        } else if (k == "required") {
            const auto* b = value.as_boolean();
            if (b == nullptr) return where + ": must be true or false" + at_line(value);
            r.required = b->get();
        } else if (k == "weight") {
            auto w = value.value<double>();
            if (!w || *w < -100.0 || *w > 100.0)
                return where + ": must be a number from -100 to 100" + at_line(value);
            r.weight = *w;
            weight_given = true;
        } else {
            return where + ": unknown key (model, priority, label, required, weight)" +
                   at_line(value);
        }
    }
    if (r.label.empty()) return at + ".label: required" + at_line(t);
    if (r.required && weight_given)
        return at + ".weight: a required label has no weight (it filters)" + at_line(t);
    return {};
}

}  // namespace

std::string parse_placement_rules(std::string_view text, placement_rules& out) {
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        return "TOML syntax error at line " + std::to_string(e.source().begin.line) + ": " +
               std::string(e.description());
    }
    for (const auto& [key, value] : root) {
        const std::string k(key.str());
        if (k == "task_types") {
            const auto* t = value.as_table();
            if (t == nullptr) return "task_types: must be a table ([task_types])" + at_line(value);
            for (const auto& [type, model] : *t) {
                const auto* s = model.as_string();
                if (s == nullptr || s->get().empty())
                    return "task_types." + std::string(type.str()) +
                           ": must be a model name (a non-empty string)" + at_line(model);
                out.task_types[std::string(type.str())] = s->get();
            }
        } else if (k == "affinity") {
            const auto* a = value.as_array();
            if (a == nullptr)
                return "affinity: must be an array of tables ([[affinity]])" + at_line(value);
            for (size_t i = 0; i < a->size(); ++i) {
                const std::string at = "affinity[" + std::to_string(i) + "]";
                const auto* t = a->get(i)->as_table();
                if (t == nullptr) return at + ": must be a table ([[affinity]])";
                placement::affinity_rule r;
                if (auto why = read_rule(*t, at, r); !why.empty()) return why;
                out.affinity.push_back(std::move(r));
            }
        } else {
            return k + ": unknown table (task_types, affinity)" + at_line(value);
        }
    }
    return {};
}

std::string load_placement_rules(const std::string& path, placement_rules& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return path + ": cannot read";
    std::ostringstream text;
    text << in.rdbuf();
    if (auto why = parse_placement_rules(text.str(), out); !why.empty()) return path + ": " + why;
    return {};
}

}  // namespace llorch::orchestrator
