#pragma once
/// \file The RabbitMQ transport (NestJS `Transport.RMQ`).

#include <roost/rmq/client.hpp>
#include <roost/rmq/context.hpp>
#include <roost/rmq/from_url.hpp>
#include <roost/rmq/options.hpp>
#include <roost/rmq/server.hpp>
