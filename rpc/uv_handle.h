// RAII for libuv handles: a handle is closed through uv_close and freed in its close
// callback, which libuv runs on a later turn of the loop.
#pragma once

#include <uv.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace asyncode::rpc {

[[noreturn]] inline void throwUv(const char* what, int rc) {
  throw std::runtime_error(std::string(what) + ": " + uv_strerror(rc));
}

template <class T>
class UvHandle {
 public:
  UvHandle() = default;
  // `init` is the handle's uv_*_init; extra arguments follow the handle pointer.
  template <class Init, class... Args>
  UvHandle(Init init, uv_loop_t* loop, Args&&... args) : h_(new T{}) {
    if (const int rc = init(loop, h_, std::forward<Args>(args)...); rc != 0) {
      delete h_;
      h_ = nullptr;
      throwUv("uv init", rc);
    }
  }
  // Takes over a handle that was initialized elsewhere (uv_spawn).
  static UvHandle adopt(T* h) {
    UvHandle u;
    u.h_ = h;
    return u;
  }
  UvHandle(UvHandle&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  ~UvHandle() { reset(); }

  void reset() {
    if (!h_) return;
    auto* handle = reinterpret_cast<uv_handle_t*>(h_);
    handle->data = nullptr;  // callbacks still due (cancelled writes) see no owner
    if (!uv_is_closing(handle)) uv_close(handle, [](uv_handle_t* x) { delete reinterpret_cast<T*>(x); });
    h_ = nullptr;
  }

  T* get() const { return h_; }
  T* operator->() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(h_); }

 private:
  T* h_ = nullptr;
};

// Closes a loop whose handles' owners are gone: runs the close callbacks still due,
// closes what is left, and frees the loop's own memory.
inline void closeLoop(uv_loop_t* loop) {
  for (int i = 0; i < 16; ++i) {
    uv_run(loop, UV_RUN_NOWAIT);
    if (uv_loop_close(loop) == 0) return;
    uv_walk(
        loop,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
  }
}

}  // namespace asyncode::rpc
