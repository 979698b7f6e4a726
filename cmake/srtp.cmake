# libsrtp2: the relay wants libsrtp2 built against OpenSSL (about 6x faster AES-CM
# than Debian's NSS build). tools/lib/setup.sh (tc_build_srtp) builds it from
# Debian's source package into build-deps/srtp; TC_SRTP_PREFIX points at that.
# Without it we fall back to the system library, loudly.
set(TC_SRTP_PREFIX "" CACHE PATH "Prefix of a libsrtp2 built with --enable-openssl")
add_library(tc_srtp INTERFACE)
if(TC_SRTP_PREFIX AND EXISTS ${TC_SRTP_PREFIX}/lib/libsrtp2.a)
  target_include_directories(tc_srtp INTERFACE ${TC_SRTP_PREFIX}/include)
  # The static library's crypto is OpenSSL's: link it here, not by luck of order.
  pkg_check_modules(SRTP_CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
  target_link_libraries(tc_srtp INTERFACE ${TC_SRTP_PREFIX}/lib/libsrtp2.a PkgConfig::SRTP_CRYPTO)
  set(TC_SRTP_BACKEND "libsrtp2 (static, OpenSSL crypto)")
else()
  pkg_check_modules(SYSSRTP REQUIRED IMPORTED_TARGET libsrtp2)
  target_link_libraries(tc_srtp INTERFACE PkgConfig::SYSSRTP)
  set(TC_SRTP_BACKEND "libsrtp2 (system, NSS crypto: slow AES-CM)")
  message(WARNING "Using the system libsrtp2 (NSS crypto, ~6x slower AES-CM). "
                  "tools/lib/setup.sh builds it into build-deps/srtp; pass -DTC_SRTP_PREFIX=... for the fast build.")
endif()
