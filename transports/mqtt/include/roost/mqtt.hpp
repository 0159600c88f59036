#pragma once
/// \file The MQTT transport (NestJS `Transport.MQTT`), MQTT 3.1.1 and 5.

#include <roost/mqtt/client.hpp>
#include <roost/mqtt/context.hpp>
#include <roost/mqtt/from_url.hpp>
#include <roost/mqtt/options.hpp>
#include <roost/mqtt/server.hpp>
