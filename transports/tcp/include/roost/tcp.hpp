#pragma once
/// \file The TCP transport (NestJS `Transport.TCP`).

#include <roost/tcp/client.hpp>
#include <roost/tcp/context.hpp>
#include <roost/tcp/from_url.hpp>
#include <roost/tcp/options.hpp>
#include <roost/tcp/server.hpp>
