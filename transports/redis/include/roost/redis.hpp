#pragma once
/// \file The Redis transport (NestJS `Transport.REDIS`).

#include <roost/redis/client.hpp>
#include <roost/redis/context.hpp>
#include <roost/redis/from_url.hpp>
#include <roost/redis/options.hpp>
#include <roost/redis/server.hpp>
