"""The HTTP front door: Open311 GeoReport v2 (JSON and XML) for upstream apps, a status API
fed by the event log, and JSON posting of a matter's later events. Run by ``gridflow api``;
see docs/api.md."""
