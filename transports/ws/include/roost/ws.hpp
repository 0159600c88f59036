#pragma once
/// \file The WebSocket transport: NestJS gateways' messages (`@nestjs/platform-ws`) and roost's
/// own packets with ids, pushes, rooms (docs/transports/websocket.md).

#include <roost/gateway.hpp>
#include <roost/ws/client.hpp>
#include <roost/ws/context.hpp>
#include <roost/ws/from_url.hpp>
#include <roost/ws/options.hpp>
#include <roost/ws/server.hpp>
