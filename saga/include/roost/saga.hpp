#pragma once
/// \file roost::saga, the whole module: durable sagas (an orchestrator over a SQLite log) and
/// the idempotent consumer for the services their steps call, and the transactional outbox.
/// docs/sagas.md.

#include <roost/saga/definition.hpp>
#include <roost/saga/idempotent_consumer.hpp>
#include <roost/saga/orchestrator.hpp>
#include <roost/saga/outbox.hpp>
#include <roost/saga/record.hpp>
#include <roost/saga/saga_log.hpp>
