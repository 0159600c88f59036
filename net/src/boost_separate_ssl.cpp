// Asio's TLS part, compiled once (see core/src/boost_separate.cpp): every roost file that uses
// boost::asio::ssl links roost::net, which links OpenSSL.
#include <boost/asio/ssl/impl/src.hpp>
