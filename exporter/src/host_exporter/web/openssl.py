"""Ask for a client certificate without verifying it (Go's RequestClientCert and RequireAnyClientCert).

Python's ssl module asks a client for a certificate only together with verifying it against the loaded
CAs, and has no verify callback. OpenSSL has one: SSL_CTX_set_verify(ctx, mode, callback), where a
callback that returns 1 accepts every certificate, as Go does for these client auth types. This module
installs such a callback on the SSL_CTX behind a Python SSLContext, through ctypes.

CPython keeps that SSL_CTX pointer as the first field after the object header; before using it, OpenSSL
is asked for the verify mode and options Python set on it, so a different layout is refused, not used.
Python keeps the callback when verify_mode is set again later (it passes on SSL_CTX_get_verify_callback).
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
import sys

# OpenSSL's verify modes (ssl.h); Python sets PEER | FAIL_IF_NO_PEER_CERT for CERT_REQUIRED on a server.
SSL_VERIFY_PEER = 0x01
SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02
_EXPECTED_MODE = {
    ssl.CERT_OPTIONAL: SSL_VERIFY_PEER,
    ssl.CERT_REQUIRED: SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
}

_VerifyCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
# int verify_callback(int preverify_ok, X509_STORE_CTX *store): 1 takes the certificate, whatever its chain.
# Module-level, so that it lives as long as any context that points at it.
_ACCEPT_ANY = _VerifyCallback(lambda _preverify_ok, _store: 1)


class UnsupportedPython(Exception):
    """This interpreter's ssl module is not laid out as expected; the callback cannot be installed."""


def _libssl() -> ctypes.CDLL:
    # dlsym() on _ssl's handle also searches its dependencies: the very libssl that _ssl uses.
    path = getattr(_ssl, "__file__", None)  # None when _ssl is built into the interpreter
    lib = ctypes.CDLL(path)
    lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
    # uint64_t since OpenSSL 3.0, unsigned long before
    lib.SSL_CTX_get_options.restype = ctypes.c_uint64 if ssl.OPENSSL_VERSION_INFO[0] >= 3 else ctypes.c_ulong
    lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VerifyCallback]
    lib.SSL_CTX_set_verify.restype = None
    return lib


def accept_any_client_certificate(context: ssl.SSLContext) -> None:
    """Make `context` (verify_mode already CERT_OPTIONAL or CERT_REQUIRED) take any client certificate."""
    if sys.implementation.name != "cpython":
        raise UnsupportedPython(f"needs CPython's ssl module, not {sys.implementation.name}'s")
    expected_mode = _EXPECTED_MODE[context.verify_mode]
    lib = _libssl()
    ctx = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if (
        not ctx
        or lib.SSL_CTX_get_verify_mode(ctx) != expected_mode
        or lib.SSL_CTX_get_options(ctx) != context.options
    ):
        version = sys.version.split()[0]
        raise UnsupportedPython(f"Python {version}'s ssl module cannot take unverified client certificates")
    lib.SSL_CTX_set_verify(ctx, expected_mode, _ACCEPT_ANY)
