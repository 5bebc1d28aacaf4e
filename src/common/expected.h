#pragma once
// A small value-or-error type (std::expected is C++23). Errors are built with `fail(e)` so a
// value type that happens to be constructible from the error type is never ambiguous.

#include <type_traits>
#include <utility>
#include <variant>

namespace llorch {

template <class E>
struct failure {
    E value;
};

template <class E>
failure<std::decay_t<E>> fail(E&& e) {
    return {std::forward<E>(e)};
}

template <class T, class E>
class expected {
  public:
    // Asio's co_spawn needs a default-constructible result type.
    expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
    expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit by design
    template <class E2>
    expected(failure<E2> f) : v_(std::in_place_index<1>, E(std::move(f.value))) {}  // NOLINT

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    E& error() { return std::get<1>(v_); }
    const E& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, E> v_;
};

template <class E>
class expected<void, E> {
  public:
    expected() = default;
    template <class E2>
    expected(failure<E2> f) : err_(E(std::move(f.value))), ok_(false) {}  // NOLINT

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    E& error() { return err_; }
    const E& error() const { return err_; }

  private:
    E err_{};
    bool ok_ = true;
};

}  // namespace llorch
