#pragma once
/// \file Everything a roost service or client needs, without a transport.

#include <roost/adaptive_limit.hpp>
#include <roost/awaitable.hpp>
#include <roost/blocking_client.hpp>
#include <roost/bulkhead.hpp>
#include <roost/circuit_breaker.hpp>
#include <roost/client_proxy.hpp>
#include <roost/client_transport.hpp>
#include <roost/context.hpp>
#include <roost/deadline.hpp>
#include <roost/dispatcher.hpp>
#include <roost/enhancers.hpp>
#include <roost/errors.hpp>
#include <roost/interceptors.hpp>
#include <roost/json.hpp>
#include <roost/log.hpp>
#include <roost/microservice.hpp>
#include <roost/packet.hpp>
#include <roost/retry_policy.hpp>
#include <roost/route.hpp>
#include <roost/router.hpp>
#include <roost/server_transport.hpp>
#include <roost/stream.hpp>
#include <roost/trace_context.hpp>
#include <roost/tracer.hpp>
#include <roost/url.hpp>
