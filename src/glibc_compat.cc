// Keeps the addon loadable on glibc 2.17 / libstdc++ 3.4.21 systems: gcc 11+ makes vector
// and string growth call std::__throw_bad_array_new_length, which only GLIBCXX_3.4.29
// exports. A hidden local definition satisfies those calls without the versioned import.
// libstdc++ only: libc++ (the musl builds, with Zig) defines it inline in <new>.
#include <cstdlib>
#include <new>

#if defined(__GLIBCXX__)
namespace std {
__attribute__((visibility("hidden"), noreturn)) void __throw_bad_array_new_length() {
#if defined(__cpp_exceptions)
  throw std::bad_array_new_length();
#else
  std::abort();
#endif
}
}  // namespace std
#endif
