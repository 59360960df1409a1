// Ownership of OpenSSL objects: a std::unique_ptr that frees its object with
// the object's own free function, instead of a deleter struct per type.
// Header-only; its users link libcrypto.
#pragma once

#include <memory>

namespace edge::base {

// A deleter that calls `Free` (EVP_PKEY_free, BIO_free, ...).
template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* object) const {
    Free(object);
  }
};

// OpenSslPtr<EVP_PKEY, EVP_PKEY_free>: owns an EVP_PKEY, freed with EVP_PKEY_free.
template <typename T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<Free>>;

}  // namespace edge::base
