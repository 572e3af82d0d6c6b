#pragma once
// Every file that uses Boost.Asio includes this header first.
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; GCC 12 rejects
// that unless <utility> was included before the first asio header.
#include <utility>

#include <boost/asio.hpp>

namespace broker {
namespace net = boost::asio;
}
