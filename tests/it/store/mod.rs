//! PostgreSQL: several instances on one database, outages, TLS.

mod multi_instance;
mod outage;
mod tls;
