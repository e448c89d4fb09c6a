//! Operations: the access log, overload and connection limits, the Grafana dashboard.

mod access_log;
mod grafana_dashboard;
mod overload;
