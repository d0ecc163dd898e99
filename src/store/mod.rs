//! PostgreSQL: the pool, the migrations and the queries on the contract's tables.
