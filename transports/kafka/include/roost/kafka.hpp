#pragma once
/// \file The Kafka transport (NestJS `Transport.KAFKA`).

#include <roost/kafka/client.hpp>
#include <roost/kafka/context.hpp>
#include <roost/kafka/from_url.hpp>
#include <roost/kafka/options.hpp>
#include <roost/kafka/retriable_exception.hpp>
#include <roost/kafka/server.hpp>
