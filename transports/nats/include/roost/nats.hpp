#pragma once
/// \file The NATS transport (NestJS `Transport.NATS`).

#include <roost/nats/client.hpp>
#include <roost/nats/context.hpp>
#include <roost/nats/from_url.hpp>
#include <roost/nats/options.hpp>
#include <roost/nats/server.hpp>
