//! Bounded memory against workerd: fragments, strings, ephemeral messages, queues and rates.
