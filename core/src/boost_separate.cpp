// Asio's and Beast's compiled parts (their .ipp files), once for every library and program
// that links roost::core. roost::core defines BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION for all of them (PUBLIC, and so for an installed package's
// consumers too): without them, each file that runs an io_context compiles Asio's scheduler,
// reactor and sockets again, and each that speaks HTTP or WebSocket Beast's parser and framing.
// Asio's TLS part needs OpenSSL: it is roost::net's (net/src/boost_separate_ssl.cpp).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
